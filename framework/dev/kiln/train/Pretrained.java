package dev.kiln.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.Backbone;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The pretrained model a run config names, as every task needs it: the folder (zoo or path), the
 * backbone with the config's dropout override, and its tokenizer. {@code data.max_length} is checked
 * against the position table here so each task reports it the same way.
 */
public record Pretrained(Path dir, Backbone backbone, Tokenizer tokenizer) {

    public static Pretrained load(RunConfig cfg, NDManager manager) throws IOException {
        Path dir = ModelZoo.resolve(cfg.model.name);
        Backbone backbone = HfFolder.loadBackbone(dir, manager, cfg.model.dropout == null ? null : cfg.model.dropout.floatValue());
        if (cfg.data.maxLength > backbone.maxPositions()) {
            throw cfg.error("data.max_length", "is " + cfg.data.maxLength + " but " + cfg.model.name
                    + " has only " + backbone.maxPositions() + " positions");
        }
        return new Pretrained(dir, backbone, backbone.architecture().loadTokenizer(dir));
    }
}
