package dev.kiln.peft;

import ai.djl.ndarray.NDArray;

import java.util.function.DoubleSupplier;

/** The gradient checks' reference: central differences of a float64 loss in one parameter entry. */
final class FiniteDifference {
    static final double H = 1e-6;

    private FiniteDifference() {}

    /** d loss / d p[i] by central differences (step {@link #H}); {@code p} is restored afterwards. */
    static double central(NDArray p, int i, DoubleSupplier loss) {
        double[] v = p.toDoubleArray();
        double[] plus = v.clone();
        plus[i] += H;
        double[] minus = v.clone();
        minus[i] -= H;
        p.set(plus);
        double lp = loss.getAsDouble();
        p.set(minus);
        double lm = loss.getAsDouble();
        p.set(v);
        return (lp - lm) / (2 * H);
    }
}
