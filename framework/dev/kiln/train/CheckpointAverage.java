package dev.kiln.train;

import dev.kiln.io.HfFolder;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.HostTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The element-wise mean of a run's last N checkpoints' weights, written as a model folder (fairseq's
 * {@code average_checkpoints.py}; Vaswani et al. 2017 averaged the last 5-20). Late in training the weights move
 * around a minimum; their mean usually lies closer to it than any one of them, which helps most when a small
 * dataset is overfitted (docs/summarization.md has the measured effect).
 */
public final class CheckpointAverage {
    private CheckpointAverage() {}

    /**
     * Averages the model weights of {@code run}'s newest {@code last} checkpoints ({@code checkpoints/step-N/model})
     * into the new folder {@code to}: the newest checkpoint's config, tokenizer and kiln_task.json, averaged
     * model.safetensors (and head file). Returns the steps averaged, newest first.
     */
    public static List<Long> write(Path run, int last, Path to) throws IOException {
        if (last < 2) throw new IllegalArgumentException("--last must be at least 2 (one checkpoint is its own average), got " + last);
        List<Path> steps = new Checkpoints(run, Integer.MAX_VALUE).list();
        if (steps.size() < last) {
            throw new IllegalArgumentException(run.resolve("checkpoints") + " holds " + steps.size() + " checkpoint(s), fewer than --last "
                    + last + "; train with checkpointing.keep_last >= " + last + " (and checkpointing.every_steps set)");
        }
        List<Path> models = new ArrayList<>();
        List<Long> stepNumbers = new ArrayList<>();
        for (Path p : steps.subList(0, last)) {
            Path m = p.resolve("model");
            if (dev.kiln.peft.PeftFolder.is(m)) {
                throw new IllegalArgumentException(m + " is a PEFT adapter folder; averaging adapters is not supported");
            }
            if (Files.isRegularFile(p.resolve(Checkpoints.MASTERS_FILE))) {
                throw new IllegalArgumentException(p + " is an fp16-mixed checkpoint (its model/ is the fp16 copy of "
                        + Checkpoints.MASTERS_FILE + "); averaging those is not supported");
            }
            models.add(m);
            stepNumbers.add(Checkpoints.stepOf(p));
        }
        Path newest = models.get(0);
        Path dst = to.toAbsolutePath().normalize();
        HfFolder.requireNewTarget(dst);
        LinkedHashMap<String, HostTensor> weights = mean(models, null);
        Map<String, LinkedHashMap<String, HostTensor>> extra = Files.isRegularFile(newest.resolve(TaskFolder.HEAD_FILE))
                ? Map.of(TaskFolder.HEAD_FILE, mean(models, TaskFolder.HEAD_FILE)) : Map.of();
        HfFolder.writeFolder(dst, HfFolder.readConfig(newest), weights, newest, extra);
        Path meta = newest.resolve(TaskFolder.META_FILE);
        if (Files.isRegularFile(meta)) Files.copy(meta, dst.resolve(TaskFolder.META_FILE));
        return stepNumbers;
    }

    /** Element-wise mean (summed in double) of each tensor over the folders' weight files (or {@code file}). */
    static LinkedHashMap<String, HostTensor> mean(List<Path> folders, String file) throws IOException {
        List<Map<String, HostTensor>> all = new ArrayList<>();
        for (Path f : folders) all.add(SafeTensors.readCheckpoint(file == null ? f : f.resolve(file)));
        Map<String, HostTensor> first = all.get(0);
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : first.entrySet()) {
            HostTensor t0 = e.getValue();
            switch (t0.dtype()) {
                case F32: break;
                case F64: case F16: case BF16:
                    throw new IllegalArgumentException(folders.get(0) + ": tensor " + e.getKey() + " is " + t0.dtype()
                            + "; only fp32 checkpoints can be averaged");
                default: // integer buffers (position ids): the same in every checkpoint, kept as they are
                    out.put(e.getKey(), t0);
                    continue;
            }
            double[] sum = new double[(int) t0.numel()];
            for (int k = 0; k < all.size(); k++) {
                HostTensor t = all.get(k).get(e.getKey());
                if (t == null || !Arrays.equals(t.shape(), t0.shape()) || t.dtype() != t0.dtype()) {
                    throw new IllegalArgumentException(folders.get(k) + ": tensor " + e.getKey() + " is missing or differs in shape/dtype"
                            + " from " + folders.get(0) + "; only checkpoints of one run can be averaged");
                }
                float[] v = t.toFloats();
                for (int i = 0; i < v.length; i++) sum[i] += v[i];
            }
            float[] avg = new float[sum.length];
            for (int i = 0; i < avg.length; i++) avg[i] = (float) (sum[i] / all.size());
            out.put(e.getKey(), HostTensor.ofFloats(t0.shape(), avg));
        }
        for (int k = 1; k < all.size(); k++) {
            if (!all.get(k).keySet().equals(first.keySet())) {
                throw new IllegalArgumentException(folders.get(k) + " has other tensors than " + folders.get(0)
                        + "; only checkpoints of one run can be averaged");
            }
        }
        return out;
    }
}
