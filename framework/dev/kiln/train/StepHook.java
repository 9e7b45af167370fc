package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import dev.kiln.nn.HostTensor;

import java.util.Map;

/**
 * Work a task does after each applied optimizer step, while that step's (clipped) gradients still exist: HF
 * PEFT's {@code update_and_allocate} for AdaLoRA, which reads |w·grad| and masks weights. The trainer asks the
 * task for one ({@link TrainableTask#stepHook}); its state is checkpointed with the optimizer's, so a resumed run
 * goes on exactly.
 */
public interface StepHook {
    /**
     * @param step    the optimizer step just applied, from 0
     * @param weights the weights the optimizer updates (fp32 masters in fp16-mixed); changes to them are kept
     * @param grads   the gradients the step used, by the same keys
     */
    void afterStep(long step, Map<String, NDArray> weights, Map<String, NDArray> grads);

    /** State to checkpoint. */
    default Map<String, HostTensor> state() {
        return Map.of();
    }

    /** Restores {@link #state()} (after the checkpoint's weights are loaded). */
    default void loadState(Map<String, HostTensor> state) {
        if (!state.isEmpty()) throw new IllegalArgumentException("unexpected step-hook state " + state.keySet());
    }
}
