package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything the trainer knows about a task. The trainer shuffles example indexes, asks the task to
 * collate and score them, and never looks inside a batch.
 */
public interface TrainableTask extends AutoCloseable {

    /** A collated micro-batch, still on the host. */
    interface Batch {
        /** Examples in this micro-batch. */
        int size();

        /** Loss targets (examples, labelled tokens, masked positions): the normaliser for accumulation. */
        long targets();

        /** Input tokens, for throughput (real tokens, padding not counted). */
        long tokens();

        /** Positions computed, padding included (rows × padded width): with {@link #tokens()}, the padding fraction. */
        default long paddedTokens() {
            return tokens();
        }

        /**
         * Training FLOPs (forward and backward) the model spends on this micro-batch, when its task states them
         * (an encoder-decoder, whose article and summary tokens meet different parameters); NaN (default) lets the
         * logger count {@code 6·}{@link TrainableTask#flopParameters()}{@code  + 12·L·d·T} per computed token.
         */
        default double flops() {
            return Double.NaN;
        }
    }

    /** The summed (not averaged) loss of a micro-batch over its {@link Batch#targets()}. */
    record Loss(NDArray sum) {}

    /** Backbone and head parameters in one store: the backbone's, which task heads attach to. */
    default Parameters parameters() {
        return backbone().params();
    }

    /** The pretrained part (for freezing, MFU and logging). */
    Backbone backbone();

    /**
     * The N of MFU's 6N FLOPs per token: parameters that take part in a matmul for every token. Embedding
     * tables that are only looked up (BERT's word/position/type tables, GPT-2's wte/wpe without a tied LM
     * head) cost no FLOPs, so a task without a vocabulary projection returns
     * {@code backbone().root().matmulParameterCount()}. Default: every parameter of the model tree (a tied LM
     * head multiplies by the word table).
     */
    default long flopParameters() {
        return backbone().root().parameterCount();
    }

    /**
     * Parameters this task lets train; the trainer trains those that are also not frozen by
     * {@code training.freeze}. A PEFT task narrows it to its adapter and heads. Default: all.
     */
    default java.util.function.Predicate<String> trainable() {
        return name -> true;
    }

    /**
     * Work after each optimizer step of a run of {@code totalSteps} (AdaLoRA's rank allocation), or null. Asked once
     * per run, before a checkpoint is restored.
     */
    default StepHook stepHook(long totalSteps) {
        return null;
    }

    int trainSize();

    /**
     * Tokens of training example {@code index}, for {@code training.group_by_length} and
     * {@code training.max_tokens_per_batch}. Default: the tokens of a batch of that example alone; a task whose
     * collate does real work overrides it with a lookup.
     */
    default int exampleLength(int index) {
        return (int) collate(new int[] {index}, 0).tokens();
    }

    /** Collates training examples {@code indexes} (dynamic padding to the longest). */
    Batch collate(int[] indexes);

    /**
     * As {@link #collate(int[])}, told which epoch the examples are drawn for, so a task whose
     * examples vary by epoch (dynamic MLM masking) stays a pure function of (seed, index, epoch)
     * and resumes exactly. The trainer calls this one.
     */
    default Batch collate(int[] indexes, int epoch) {
        return collate(indexes);
    }

    /** Forward pass; arrays are created in {@code step}, which the trainer closes after the step. */
    Loss loss(Batch batch, NDManager step, boolean training);

    /** Metrics on the dev set (empty map when there is none); arrays live in sub-managers of {@code parent}. */
    Map<String, Double> evaluate(NDManager parent);

    /**
     * What the last {@link #evaluate} predicted and expected, for user metrics ({@link EvalMetric}); null when the
     * task keeps none. Valid until the next evaluate.
     */
    default EvalOutputs evalOutputs() {
        return null;
    }

    /**
     * The task's main metric and its direction: its {@link dev.kiln.config.MainMetric} constant, the one its provider
     * registers for configs and sweeps (declared once). A task overrides this, or (as older tasks do) the two
     * methods below.
     */
    default dev.kiln.config.MainMetric declaredMainMetric() {
        throw new UnsupportedOperationException(getClass().getName()
                + " declares no main metric: override declaredMainMetric() to return its MainMetric constant");
    }

    /** The metric used for "best" when the trainer is given none (e.g. "accuracy"). */
    default String mainMetric() {
        return declaredMainMetric().name();
    }

    /** The metric's direction ({@link dev.kiln.config.MainMetric#higherIsBetter}). */
    default boolean higherIsBetter(String metric) {
        return declaredMainMetric().higherIsBetter(metric);
    }

    /** Writes a folder the task's predictor loads: HF model files plus task metadata. */
    void save(Path dir) throws IOException;

    @Override
    default void close() {}
}
