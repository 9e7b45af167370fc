package dev.kiln.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * A task as the CLI and the config system see it. Implementations live in tasks/ and are found with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/dev.kiln.train.TaskProvider}), so the
 * framework names none of them.
 */
public interface TaskProvider {
    /** The config's {@code task.type}. */
    String type();

    /** Registers the task's config option classes with {@link dev.kiln.config.ConfigRegistry}. */
    void registerConfig();

    /** Reads data and builds backbone + head; throws before anything is written on bad input. */
    TrainableTask create(RunConfig config, NDManager manager) throws IOException;

    /**
     * A task's typed predictor: its class and how it opens a run or model folder (its {@code load(dir, device)}),
     * so the facade reaches it as {@code Kiln.predictor(dir, TextClassifier.class)} without naming the task.
     */
    record Typed<P extends AutoCloseable>(Class<P> type, Loader<P> loader) {
        @FunctionalInterface
        public interface Loader<P> {
            P load(Path runOrModel, String device) throws IOException;
        }
    }

    /** The task's typed predictor; null for a task that offers only {@link #predictor}'s JSON objects. */
    default Typed<?> typed() {
        return null;
    }

    /** The model of a run or model folder opened for prediction: one JSON object per input. */
    PredictLines.Predictor predictor(Path modelDir, String device) throws IOException;

    /** One JSON line out per input line (plain text or a JSON object): {@link PredictLines#run} over {@link #predictor}. */
    default void predict(Path modelDir, String device, BufferedReader in, PrintStream out) throws IOException {
        try (PredictLines.Predictor p = predictor(modelDir, device)) {
            PredictLines.run(p, in, out);
        }
    }

    /** CLI {@code evaluate}: metrics of the model on a labelled file read with the run's data settings. */
    Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException;

    /**
     * As {@link #evaluate(Path, String, Path)}, with {@code dataOptions} (keys of a config's data section without
     * {@code data.}, e.g. {@code format}, {@code text_field}; see {@link DataOptions}) over the run's own. A task
     * that reads one fixed format takes none.
     */
    default Map<String, Object> evaluate(Path modelDir, String device, Path data, Map<String, String> dataOptions) throws IOException {
        refuseDataOptions(dataOptions);
        return evaluate(modelDir, device, data);
    }

    /** As {@link #predictor(Path, String)}, with data options (see {@link DataOptions}) over the run's own. */
    default PredictLines.Predictor predictor(Path modelDir, String device, Map<String, String> dataOptions) throws IOException {
        refuseDataOptions(dataOptions);
        return predictor(modelDir, device);
    }

    /** As {@link #predict(Path, String, BufferedReader, PrintStream)}, with data options over the run's own. */
    default void predict(Path modelDir, String device, BufferedReader in, PrintStream out, Map<String, String> dataOptions)
            throws IOException {
        try (PredictLines.Predictor p = predictor(modelDir, device, dataOptions)) {
            PredictLines.run(p, in, out);
        }
    }

    /**
     * {@link #evaluate} in two halves, for a job that runs the model where the rows are (Spark's evaluate): a
     * {@link Scorer} gives the outputs of any slice of the rows, and {@link Evaluation#metrics} turns the outputs of
     * all slices, joined ({@link EvalOutputs#concat}), into what {@link #evaluate} reports on the same rows. Null
     * for a task that evaluates whole files only.
     */
    default Evaluation evaluation() {
        return null;
    }

    /** See {@link #evaluation()}. */
    interface Evaluation {
        /** Opens the model of a run or model folder, the run's data settings with {@code dataOptions} over them. */
        Scorer open(Path modelDir, String device, Map<String, String> dataOptions) throws IOException;

        /** The task's evaluate metrics over every row's outputs (no model or data keys). */
        Map<String, Object> metrics(EvalOutputs all);

        /** An evaluation from how its scorer opens and its metric function. */
        static Evaluation of(Opener open, java.util.function.Function<EvalOutputs, Map<String, Object>> metrics) {
            return new Evaluation() {
                @Override
                public Scorer open(Path modelDir, String device, Map<String, String> dataOptions) throws IOException {
                    return open.open(modelDir, device, dataOptions);
                }

                @Override
                public Map<String, Object> metrics(EvalOutputs all) {
                    return metrics.apply(all);
                }
            };
        }

        /** {@link #open} as a lambda. */
        @FunctionalInterface
        interface Opener {
            Scorer open(Path modelDir, String device, Map<String, String> dataOptions) throws IOException;
        }
    }

    /** A model opened for evaluation in slices. */
    interface Scorer extends AutoCloseable {
        /**
         * The model's outputs beside the gold for these rows: a table's rows as the JSON objects of a JSONL file
         * (errors name {@code source} and each row's {@code line}).
         */
        EvalOutputs outputs(Path source, java.util.List<dev.kiln.data.TextRecords.JsonLine> rows) throws IOException;

        @Override
        void close();

        /** {@link #outputs} of slices, by a function over an open {@code model}; closing the scorer closes the model. */
        static Scorer of(AutoCloseable model, Slices outputs) {
            return new Scorer() {
                @Override
                public EvalOutputs outputs(Path source, java.util.List<dev.kiln.data.TextRecords.JsonLine> rows) throws IOException {
                    return outputs.outputs(source, rows);
                }

                @Override
                public void close() {
                    try {
                        model.close();
                    } catch (Exception e) {
                        throw new IllegalStateException("closing the model: " + e.getMessage(), e);
                    }
                }
            };
        }

        /** {@link #outputs} as a lambda. */
        @FunctionalInterface
        interface Slices {
            EvalOutputs outputs(Path source, java.util.List<dev.kiln.data.TextRecords.JsonLine> rows) throws IOException;
        }
    }

    private void refuseDataOptions(Map<String, String> dataOptions) {
        if (!dataOptions.isEmpty()) {
            throw new IllegalArgumentException("the " + type() + " task reads its data one way and takes no data options (got data."
                    + String.join(", data.", dataOptions.keySet()) + ")");
        }
    }
}
