package dev.kiln.sweep;

import java.util.ArrayList;
import java.util.List;

/**
 * Decides, after each evaluation of a running trial, whether to stop it. Like the samplers, a pruner is a pure
 * function of the finished trials' curves and the running trial's own curve, so a resumed sweep prunes exactly as
 * an uninterrupted one would.
 */
public interface Pruner {
    /** Whether {@code running}, whose last evaluation is the last point of its curve, should stop now. */
    boolean prune(Trial running, List<Trial> finished);

    static Pruner of(SweepSpec spec) {
        SweepSpec.PrunerSpec p = spec.pruner;
        return switch (p.type) {
            case NONE -> (running, finished) -> false;
            case MEDIAN -> new Median(spec.maximize, p.startupTrials, p.warmupSteps);
            case ASHA -> new Asha(spec.maximize, p.minResource, p.reductionFactor);
        };
    }

    /**
     * Optuna's MedianPruner: once {@code startup} trials have completed, and past {@code warmup} steps, stop a trial
     * whose best value so far is worse than the median of the completed trials' values at the same step (only
     * trials that evaluated at that step count; with none, nothing is pruned).
     */
    record Median(boolean maximize, int startup, long warmup) implements Pruner {
        @Override
        public boolean prune(Trial running, List<Trial> finished) {
            if (running.curve.isEmpty()) return false;
            long step = running.curve.get(running.curve.size() - 1).step();
            if (step < warmup) return false;
            List<Double> at = new ArrayList<>();
            int complete = 0;
            for (Trial t : finished) {
                if (t.state != Trial.State.COMPLETE) continue;
                complete++;
                for (Trial.Point p : t.curve) if (p.step() == step) at.add(p.value());
            }
            if (complete < startup || at.isEmpty()) return false;
            double median = median(at);
            double best = running.best(maximize);
            return maximize ? best < median : best > median;
        }

        static double median(List<Double> xs) {
            double[] v = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
    }

    /**
     * Asynchronous successive halving (Li et al. 2020) as Optuna's SuccessiveHalvingPruner: rung k sits at
     * {@code minResource × η^k} steps. When a trial's evaluation first reaches a rung, that value joins the rung's
     * record (every trial that reached it, pruned ones included) and the trial continues only when it is in the top
     * 1/η there; while fewer than η trials have reached the rung it must be the best of them. {@code minResource} 0
     * means the step of the trial's first evaluation.
     */
    record Asha(boolean maximize, long minResource, int eta) implements Pruner {
        @Override
        public boolean prune(Trial running, List<Trial> finished) {
            if (running.curve.isEmpty()) return false;
            Trial.Point now = running.curve.get(running.curve.size() - 1);
            long r0 = minResource > 0 ? minResource : running.curve.get(0).step();
            long prev = running.curve.size() > 1 ? running.curve.get(running.curve.size() - 2).step() : 0;
            for (int k = 0; ; k++) {
                long rung = r0 * pow(eta, k);
                if (rung > now.step()) return false;
                if (rung <= prev) continue; // reached at an earlier evaluation, decided then
                List<Double> competing = new ArrayList<>();
                for (Trial t : finished) {
                    Double v = rungValue(t, minResource > 0 ? minResource : t.curve.isEmpty() ? 0 : t.curve.get(0).step(), k);
                    if (v != null) competing.add(v);
                }
                competing.add(now.value());
                competing.sort(maximize ? java.util.Comparator.reverseOrder() : java.util.Comparator.naturalOrder());
                int idx = Math.max(0, competing.size() / eta - 1);
                double bar = competing.get(idx);
                if (maximize ? now.value() < bar : now.value() > bar) return true;
            }
        }

        /** The value a finished trial recorded at rung k: its first evaluation at or past the rung's step. */
        private Double rungValue(Trial t, long r0, int k) {
            if (r0 <= 0) return null;
            long rung = r0 * pow(eta, k);
            for (Trial.Point p : t.curve) if (p.step() >= rung) return p.value();
            return null;
        }

        private static long pow(int b, int e) {
            long r = 1;
            for (int i = 0; i < e; i++) {
                if (r > Long.MAX_VALUE / b) return Long.MAX_VALUE;
                r *= b;
            }
            return r;
        }
    }
}
