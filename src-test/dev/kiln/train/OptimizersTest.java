package dev.kiln.train;

import dev.kiln.config.RunConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A new optimizer is its class plus its registration: every config constant has a factory here. */
class OptimizersTest {
    @Test
    void everyOptimizerTypeIsRegistered() {
        for (RunConfig.OptimizerType t : RunConfig.OptimizerType.values()) {
            RunConfig.Optimizer c = new RunConfig.Optimizer();
            c.type = t;
            Optimizer o = Optimizers.create(c, name -> false);
            assertTrue(o instanceof StatefulOptimizer, t + " builds " + o.getClass());
            assertTrue(Optimizers.get(t).statesPerWeight() >= 1, t.toString());
        }
        assertEquals(2, Optimizers.get(RunConfig.OptimizerType.ADAMW).statesPerWeight()); // exp_avg, exp_avg_sq
        assertEquals(1, Optimizers.get(RunConfig.OptimizerType.SGD).statesPerWeight());   // momentum_buffer
    }
}
