package dev.kiln.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.util.Devices;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The extra model replicas of a data-parallel run ({@code model.devices}): replica r is the config's task built
 * afresh on device r (r ≥ 1), wrapped for PEFT like replica 0. Each reads the task's data again (a task offers no
 * cheaper copy of itself); its weights are replaced by replica 0's before the first step ({@link DataParallel#prepare}).
 */
public final class Replicas implements AutoCloseable {
    private final List<NDManager> managers = new ArrayList<>();
    private final List<TrainableTask> tasks = new ArrayList<>();

    private Replicas() {}

    /** {@code model.devices} (or {@code model.device}) resolved here; an absent GPU is an error naming its field. */
    public static List<Device> devices(RunConfig cfg) {
        List<String> specs = cfg.model.trainingDevices();
        List<Device> out = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            String field = cfg.model.devices == null ? "model.device" : "model.devices[" + i + "]";
            try {
                out.add(Devices.parse(specs.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(cfg.source() + ": \"" + field + "\" " + e.getMessage());
            }
        }
        return out;
    }

    /** Replicas on {@code devices[1..]} (none for one device); closes what it built if one fails. */
    public static Replicas build(RunConfig cfg, TaskProvider provider, List<Device> devices) throws IOException {
        Replicas r = new Replicas();
        try {
            for (int i = 1; i < devices.size(); i++) {
                NDManager m = NDManager.newBaseManager(devices.get(i));
                r.managers.add(m);
                r.tasks.add(dev.kiln.peft.PeftTask.wrap(cfg, provider.create(cfg, m)));
            }
            return r;
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /** Replicas 1..N-1, for {@link Trainer#replicas}. */
    public List<TrainableTask> tasks() {
        return tasks;
    }

    /** "gpu(0)" for one device, "gpu(0), gpu(1)" for several: for manifests and summaries. */
    public static String describe(List<Device> devices) {
        List<String> s = new ArrayList<>();
        for (Device d : devices) s.add(d.toString());
        return String.join(", ", s);
    }

    @Override
    public void close() {
        for (TrainableTask t : tasks) t.close();
        for (NDManager m : managers) m.close();
    }
}
