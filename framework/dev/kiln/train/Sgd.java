package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.Parameters;

import java.util.Map;
import java.util.function.Predicate;

/**
 * {@code torch.optim.SGD}: {@code d = g + wd·p} (coupled L2 decay), momentum buffer
 * {@code b = d} on the first step, then {@code b = μ·b + (1-dampening)·d}; nesterov uses
 * {@code d + μ·b}, otherwise {@code b}; {@code p -= lr·update}. Decay is skipped where
 * {@code noDecay} says, as for AdamW.
 */
public final class Sgd extends StatefulOptimizer {
    static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final double momentum;
    private final double dampening;
    private final boolean nesterov;
    private final double weightDecay;
    private final Predicate<String> noDecay;

    public Sgd(double momentum, double dampening, boolean nesterov, double weightDecay, Predicate<String> noDecay) {
        super(false, MOMENTUM_BUFFER);
        if (!(momentum >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("SGD momentum and weight_decay must be >= 0, got " + momentum + ", " + weightDecay);
        }
        if (nesterov && (momentum == 0 || dampening != 0)) {
            throw new IllegalArgumentException("nesterov SGD needs momentum > 0 and dampening 0");
        }
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
        this.weightDecay = weightDecay;
        this.noDecay = noDecay;
    }

    public Sgd(double momentum, boolean nesterov, double weightDecay) {
        this(momentum, 0, nesterov, weightDecay, AdamW::defaultNoDecay);
    }

    @Override
    public void step(Parameters params, Map<String, NDArray> grads, float lr) {
        NDManager state = bind(params);
        try (NDManager stepScope = params.manager().newSubManager()) {
            Scalars s = new Scalars(stepScope);
            // validate before touching anything: a bad entry must not leave a half-applied step
            for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                NDArray p = params.get(e.getKey());
                checkGrad(e.getKey(), p, e.getValue());
                if (momentum != 0) get(MOMENTUM_BUFFER, e.getKey(), p);
            }
            for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                String name = e.getKey();
                NDArray g = e.getValue();
                NDArray p = params.get(name);
                DataType dt = p.getDataType();
                try (NDManager tmp = stepScope.newSubManager()) {
                    NDArray d = g;
                    if (weightDecay != 0 && !noDecay.test(name)) d = in(tmp, p.mul(s.of(weightDecay, dt))).addi(g);
                    NDArray update = d;
                    if (momentum != 0) {
                        NDArray buf = get(MOMENTUM_BUFFER, name, p);
                        if (buf == null) {
                            buf = in(state, d.duplicate());
                            put(MOMENTUM_BUFFER, name, buf);
                        } else {
                            buf.muli(s.of(momentum, dt));
                            if (dampening == 0) buf.addi(d);
                            else buf.addi(in(tmp, d.mul(s.of(1 - dampening, dt))));
                        }
                        update = nesterov ? in(tmp, buf.mul(s.of(momentum, dt))).addi(d) : buf;
                    }
                    if (lr != 0) p.subi(in(tmp, update.mul(s.of(lr, dt))));
                }
            }
            steps++;
        }
    }
}
