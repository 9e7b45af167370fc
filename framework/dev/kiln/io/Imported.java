package dev.kiln.io;

import dev.kiln.models.BertConfig;
import dev.kiln.nn.HostTensor;

import java.util.LinkedHashMap;

/**
 * A model read from a foreign format: its config and its tensors under HF Transformers names, in HF
 * order. Tensors may be views of memory-mapped source files, so keep the source until they are written.
 */
public record Imported(BertConfig config, LinkedHashMap<String, HostTensor> tensors) {

    /** Total number of values over all tensors. */
    public long numValues() {
        long n = 0;
        for (HostTensor t : tensors.values()) n += t.numel();
        return n;
    }
}
