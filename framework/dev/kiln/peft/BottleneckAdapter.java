package dev.kiln.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Projection;
import dev.kiln.nn.ProjectionModule;

import java.util.SplittableRandom;

/**
 * A bottleneck adapter on a projection's output: h + up(f(down(h))), h = the projection's output, before the
 * block's residual add and LayerNorm (Houlsby et al. 2019, Pfeiffer et al. 2020). Its parameters are children
 * of the wrapped module ({@code ...output.dense.adapter_down.weight}); the up-projection starts at zero, so
 * the adapter starts as the identity, and the down-projection N(0, 0.01²).
 */
public final class BottleneckAdapter implements Projection {
    final Projection base;
    final Linear down;
    final Linear up;
    final String nonLinearity;

    BottleneckAdapter(ProjectionModule target, int reductionFactor, String nonLinearity, long seed) {
        this.base = target.current();
        long h = target.outFeatures();
        long m = Math.max(1, h / reductionFactor);
        this.down = new Linear(target, "adapter_down", h, m, true);
        this.up = new Linear(target, "adapter_up", m, h, true);
        this.nonLinearity = nonLinearity;
        SplittableRandom rng = new SplittableRandom(seed * 31 + target.path().hashCode());
        float[] v = new float[Math.toIntExact(h * m)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() * 0.01);
        target.store().get(down.weight).set(v);
        target.store().get(down.bias).set(new float[Math.toIntExact(m)]);
        target.store().get(up.weight).set(new float[Math.toIntExact(h * m)]);
        target.store().get(up.bias).set(new float[Math.toIntExact(h)]);
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray h = base.forward(x);
        return h.add(up.project(activate(down.project(h))));
    }

    private NDArray activate(NDArray x) {
        return switch (nonLinearity) {
            case "swish" -> x.mul(Activation.sigmoid(x));
            case "tanh" -> x.tanh();
            default -> Functional.activation(nonLinearity, x);
        };
    }
}
