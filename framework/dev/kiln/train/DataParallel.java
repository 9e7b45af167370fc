package dev.kiln.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Data parallelism in one process: one replica of the model per device (replica 0 is the trainer's own task),
 * each optimizer step's micro-batches split across the replicas, gradients summed onto replica 0, one optimizer
 * step there, the new weights copied back out. With one replica every method is the plain single-device step, so
 * the trainer has a single code path.
 *
 * <p>Why step once and broadcast rather than step every replica: one optimizer state, one set of fp16 masters and
 * one loss scaler (memory on the other devices holds only the model), checkpoints and resume are exactly those of
 * a single-device run, and the replicas are bit-identical to replica 0 after every step by construction, so
 * nondeterministic device kernels cannot make them drift apart. The traffic is the same as an all-reduce: a
 * reduce of the gradients into replica 0, then a broadcast of the (trainable) weights.
 *
 * <p>Exactness: a shard's summed loss is divided by the targets of the whole step (all shards of all
 * micro-batches), as accumulation already does, so the summed gradient is the whole batch's gradient; only the
 * order of floating-point additions differs.
 *
 * <p>Overlap: DJL exposes no per-parameter gradient hooks (PyTorch's {@code register_post_accumulate_grad_hook}),
 * so the reduction cannot start while backward is still running. What does overlap on GPUs is the replicas
 * themselves: kernels are queued asynchronously, so no loss value is read back to the host until every replica
 * has queued its backward, and the copies of one tree level are queued back to back.
 */
public final class DataParallel {
    private static final NDIndex ALL = new NDIndex("...");

    private final List<TrainableTask> replicas;
    private Predicate<String> trainable;

    /** {@code primary} is replica 0 (the one the optimizer steps, checkpoints and evaluates); {@code others} may be empty. */
    public DataParallel(TrainableTask primary, List<TrainableTask> others) {
        replicas = new ArrayList<>();
        replicas.add(primary);
        replicas.addAll(others);
    }

    public int size() {
        return replicas.size();
    }

    /** The devices of the replicas, replica 0 first. */
    public List<Device> devices() {
        List<Device> out = new ArrayList<>();
        for (TrainableTask t : replicas) out.add(t.parameters().manager().getDevice());
        return out;
    }

    /**
     * Makes replicas 1..N-1 equal to replica 0 after its weights are final for the start of the run (loaded,
     * restored from a checkpoint, cast for fp16 compute): same dtypes, same values, gradients on the same
     * {@code trainable} parameters.
     */
    public void prepare(Predicate<String> trainable) {
        this.trainable = trainable;
        Parameters p0 = replicas.get(0).parameters();
        for (int r = 1; r < replicas.size(); r++) {
            Parameters pr = replicas.get(r).parameters();
            if (!pr.all().keySet().equals(p0.all().keySet())) {
                throw new IllegalArgumentException("replica " + r + " on " + pr.manager().getDevice()
                        + " has other parameters than replica 0: the replicas must be built from one config");
            }
            DataType t = p0.all().values().iterator().next().getDataType();
            pr.castAll(t);
            Gradients.require(pr, trainable);
        }
        broadcast(p0.all().keySet());
    }

    /** Contiguous shards of {@code idx}, sizes differing by at most one (larger first); some may be empty. */
    public static int[][] split(int[] idx, int n) {
        int[][] out = new int[n][];
        int base = idx.length / n, extra = idx.length % n, at = 0;
        for (int r = 0; r < n; r++) {
            int len = base + (r < extra ? 1 : 0);
            out[r] = java.util.Arrays.copyOfRange(idx, at, at + len);
            at += len;
        }
        return out;
    }

    /** One optimizer step's work: {@code shards[m][r]} is micro-batch m's shard for replica r (null when empty). */
    public record Work(List<TrainableTask.Batch[]> shards, long targets, long tokens, long paddedTokens, long examples,
                       double flops) {}

    /** Splits each micro-batch of the step and has each replica collate its own shard (on the host). */
    public Work collate(List<int[]> micro, int epoch) {
        List<TrainableTask.Batch[]> shards = new ArrayList<>();
        long targets = 0, tokens = 0, padded = 0, examples = 0;
        double flops = 0; // NaN when the task states none
        for (int[] idx : micro) {
            int[][] parts = split(idx, replicas.size());
            TrainableTask.Batch[] row = new TrainableTask.Batch[parts.length];
            for (int r = 0; r < parts.length; r++) {
                if (parts[r].length == 0) continue;
                TrainableTask.Batch b = replicas.get(r).collate(parts[r], epoch);
                row[r] = b;
                targets += b.targets();
                tokens += b.tokens();
                padded += b.paddedTokens();
                examples += b.size();
                flops += b.flops();
            }
            shards.add(row);
        }
        return new Work(shards, targets, tokens, padded, examples, flops);
    }

    /**
     * Forward and backward of every shard in the one gradient collector DJL allows per JVM; each shard's summed loss
     * is divided by the step's {@link Work#targets}, so the gradients summed over shards and micro-batches are the
     * whole step's. Returns the summed loss (NaN/inf when any shard's is).
     */
    public double forwardBackward(Work w, Updater updater) {
        int n = replicas.size();
        List<NDManager> scopes = new ArrayList<>();
        try {
            for (TrainableTask t : replicas) scopes.add(t.parameters().manager().newSubManager());
            List<NDArray> sums = new ArrayList<>();
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                for (TrainableTask.Batch[] row : w.shards()) {
                    for (int r = 0; r < n; r++) {
                        if (row[r] == null) continue;
                        NDArray sum = replicas.get(r).loss(row[r], scopes.get(r), true).sum();
                        sums.add(sum);
                        // (divisor as an array in the step's scope, not a Number: see Functional.scalar)
                        gc.backward(updater.scaleLoss(sum.div(Functional.scalar(sum, Math.max(1, w.targets())))));
                    }
                }
            }
            // read back only now: a read waits for the device, and on GPUs the other replicas' work is still queued
            double loss = 0;
            for (NDArray s : sums) loss += s.getFloat();
            return loss;
        } finally {
            for (NDManager s : scopes) s.close();
        }
    }

    /**
     * Sums the gradients of every replica that took part in the step into replica 0's, in a binary tree of
     * device-to-device copies (log2 N levels; the pairs of one level are independent), and zeroes the others'.
     * Call after the collector is closed and before {@link Updater#step}; clipping then sees the reduced gradients.
     */
    public void reduce(Work w) {
        if (replicas.size() == 1) return;
        List<Integer> active = new ArrayList<>();
        for (int r = 0; r < replicas.size(); r++) {
            for (TrainableTask.Batch[] row : w.shards()) {
                if (row[r] != null) {
                    active.add(r);
                    break;
                }
            }
        }
        if (active.size() < 2) return;
        List<NDManager> scopes = new ArrayList<>();
        try {
            List<Map<String, NDArray>> grads = new ArrayList<>();
            for (int r : active) {
                Parameters p = replicas.get(r).parameters();
                NDManager scope = p.manager().newSubManager();
                scopes.add(scope);
                grads.add(Gradients.collect(p, trainable, scope));
            }
            for (int stride = 1; stride < active.size(); stride *= 2) {
                for (int i = 0; i + stride < active.size(); i += 2 * stride) {
                    Map<String, NDArray> dst = grads.get(i), src = grads.get(i + stride);
                    for (Map.Entry<String, NDArray> e : dst.entrySet()) {
                        NDArray g = e.getValue();
                        g.addi(src.get(e.getKey()).toDevice(g.getDevice(), false));
                    }
                }
            }
            for (int i = 1; i < grads.size(); i++) Gradients.zero(grads.get(i));
        } finally {
            for (NDManager s : scopes) s.close();
        }
    }

    /** Copies replica 0's trainable weights to every other replica after an applied optimizer step. */
    public void broadcast() {
        if (replicas.size() > 1) broadcast(trainableNames());
    }

    private List<String> trainableNames() {
        List<String> out = new ArrayList<>();
        for (String k : replicas.get(0).parameters().all().keySet()) if (trainable.test(k)) out.add(k);
        return out;
    }

    /** The mirror of {@link #reduce}'s tree: level by level from replica 0 outwards. */
    private void broadcast(Iterable<String> names) {
        int n = replicas.size();
        int top = 1;
        while (top * 2 < n) top *= 2;
        for (int stride = top; stride >= 1; stride /= 2) {
            for (int i = 0; i + stride < n; i += 2 * stride) {
                Parameters from = replicas.get(i).parameters(), to = replicas.get(i + stride).parameters();
                try (NDManager scope = from.manager().newSubManager()) {
                    for (String k : names) {
                        NDArray dst = to.get(k);
                        NDArray src = from.get(k).toDevice(dst.getDevice(), false);
                        if (src != from.get(k)) src.attach(scope);
                        dst.set(ALL, src);
                    }
                }
            }
        }
    }
}
