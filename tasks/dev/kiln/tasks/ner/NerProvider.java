package dev.kiln.tasks.ner;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.config.SettingsJson;
import dev.kiln.data.DataException;
import dev.kiln.data.Splits;
import dev.kiln.metrics.SeqevalMetrics;
import dev.kiln.text.Sequences;
import dev.kiln.data.TextRecords;
import dev.kiln.train.EvalOutputs;
import dev.kiln.train.PredictLines;
import dev.kiln.train.Pretrained;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Registers NER with the config system and the CLI. */
public final class NerProvider implements TaskProvider {

    @Override
    public String type() {
        return NerTask.TYPE;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(NerTask.TYPE, NerOptions.class, NerOptions.Data.class)
                .mainMetric(NerTask.MAIN_METRIC)
                .formats("conll");
    }

    /** How data files are read; saved with the model so {@code evaluate} reads new files the same way. */
    record DataSettings(String format, @SerializedName("encoding") String charset, int tokenColumn, int tagColumn, String tagScheme,
                        String tokensField, String tagsField) {
        /** The data keys {@code evaluate} takes on the command line. */
        static final List<String> OPTIONS = List.of("format", "encoding", "token_column", "tag_column", "tag_scheme",
                "tokens_field", "tags_field");

        static DataSettings of(RunConfig.Data d, NerOptions.Data n) {
            return new DataSettings(d.format, d.encoding, n.tokenColumn, n.tagColumn, n.tagScheme, n.tokensField, n.tagsField);
        }

        ConllReader.Options options() {
            ConllReader.Options o = new ConllReader.Options();
            o.tokenColumn = tokenColumn;
            o.tagColumn = tagColumn;
            o.scheme = ConllReader.Scheme.parse(tagScheme);
            o.charset = Charset.forName(charset);
            o.tokensField = tokensField;
            o.tagsField = tagsField;
            return o;
        }

        ConllReader.Result read(Path file) throws IOException {
            ConllReader.Options o = options();
            String f = switch (format) {
                case "txt", "tsv" -> "conll"; // CoNLL files often come as .txt or tab-separated
                case "auto", "conll", "jsonl" -> format;
                default -> throw new DataException(file, 0, "NER reads CoNLL or JSONL files; set data.format to \"conll\" or "
                        + "\"jsonl\" (or \"auto\": .jsonl is JSONL, anything else CoNLL), not \"" + format + "\"");
            };
            ConllReader.Result r = ConllReader.read(file, f, o);
            if (r.sentences().isEmpty()) throw new DataException(file, 0, "has no sentences; check data.format");
            return r;
        }
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        NerOptions opts = cfg.taskOptions(NerOptions.class);
        DataSettings ds = DataSettings.of(cfg.data, cfg.dataOptions(NerOptions.Data.class));
        if (cfg.data.train == null) throw cfg.error("data.train", "is required for training");
        List<ConllReader.Sentence> train = ds.read(cfg.data.train).sentences();
        List<ConllReader.Sentence> dev = cfg.data.dev != null ? ds.read(cfg.data.dev).sentences() : null;
        if (dev == null && cfg.data.devFraction != null) {
            var split = Splits.stratified(train, s -> "", cfg.data.devFraction, cfg.seed);
            train = split.train();
            dev = split.dev();
        }
        List<ConllReader.Sentence> trainRows = train;
        // a classic model's word vocabulary: the training words, split again as the tokenizer splits text
        Pretrained pre = Pretrained.load(cfg, manager, () -> trainRows.stream().map(x -> String.join(" ", x.tokens())).toList());
        int window = Math.min(cfg.data.maxLength, pre.backbone().maxPositions())
                - Sequences.specialCount(pre.tokenizer(), false);
        if (opts.stride >= window) {
            throw cfg.error("task.stride", "is " + opts.stride + " but data.max_length " + cfg.data.maxLength
                    + " leaves windows of " + window + " tokens; use a stride below " + window);
        }
        NerTask.Settings s = new NerTask.Settings();
        s.maxLength = cfg.data.maxLength;
        s.stride = opts.stride;
        s.evalBatchSize = opts.evalBatchSize;
        s.labelSmoothing = (float) cfg.training.labelSmoothing;
        s.dataSettings = SettingsJson.toJson(ds);
        return new NerTask(pre.backbone(), pre.tokenizer(), pre.dir(), train, dev, s);
    }

    @Override
    public Typed<NerTagger> typed() {
        return new Typed<>(NerTagger.class, NerTagger::load);
    }

    /**
     * One JSON line per input line: raw text (plain or {"text": ...}) gives entities with character
     * offsets into it; {"tokens": [...]} gives a tag per token and entities over the tokens.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        NerTagger t = NerTagger.load(modelDir, device);
        return PredictLines.batched(t, ins -> {
            // a chunk of lines at once: the tagger batches all their windows by length; output keeps input order
            List<List<String>> tokens = new ArrayList<>(ins.size());
            List<String> texts = new ArrayList<>(ins.size());
            List<WordAlignment.Aligned> aligned = new ArrayList<>(ins.size());
            for (PredictLines.Input in : ins) {
                JsonObject o = in.json();
                List<String> tk = o == null ? null : PredictLines.strings(o, "tokens", in.number());
                String text = tk != null ? null : o == null ? in.text() : PredictLines.string(o, "text", in.number(), true);
                tokens.add(tk);
                texts.add(text);
                aligned.add(tk != null ? WordAlignment.ofWords(t.tokenizer(), tk) : WordAlignment.ofText(t.tokenizer(), text));
            }
            List<NerTagger.Tagged> tagged = t.run(aligned);
            List<JsonObject> out = new ArrayList<>(ins.size());
            for (int i = 0; i < ins.size(); i++) out.add(json(tokens.get(i), texts.get(i), tagged.get(i)));
            return out;
        });
    }

    /** One predict line: the tokens and tags of pre-split input (entities by word), or the text (entities by character). */
    private static JsonObject json(List<String> tokens, String text, NerTagger.Tagged tagged) {
        JsonObject r = new JsonObject();
        if (tokens != null) {
            JsonArray tk = new JsonArray();
            tokens.forEach(tk::add);
            r.add("tokens", tk);
            JsonArray tags = new JsonArray();
            tagged.tags().forEach(tags::add);
            r.add("tags", tags);
        } else {
            r.addProperty("text", text);
        }
        JsonArray ents = new JsonArray();
        for (NerTagger.Entity e : tagged.entities()) {
            JsonObject x = new JsonObject();
            x.addProperty("type", e.type());
            x.addProperty("text", e.text());
            if (tokens != null) {
                x.addProperty("start_token", e.firstWord());
                x.addProperty("end_token", e.endWord());
            } else {
                x.addProperty("start", e.start());
                x.addProperty("end", e.end());
            }
            x.addProperty("score", e.score());
            ents.add(x);
        }
        r.add("entities", ents);
        return r;
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        return evaluate(modelDir, device, data, Map.of());
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data, Map<String, String> options) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        DataSettings ds = settings(dir, options);
        List<ConllReader.Sentence> rows = ds.read(data).sentences();
        try (NerTagger t = NerTagger.load(dir, device)) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            long t0 = System.nanoTime();
            out.putAll(metrics(outputs(t, rows)));
            out.put("examples_per_s", rows.size() / Math.max(1e-9, (System.nanoTime() - t0) / 1e9));
            return out;
        }
    }

    /** The run's data settings (kiln_task.json) with command-line data options over them. */
    private static DataSettings settings(Path dir, Map<String, String> options) throws IOException {
        JsonObject meta = TaskFolder.requireTask(dir, NerTask.TYPE);
        try {
            return SettingsJson.fromJson(dev.kiln.train.DataOptions.merge(meta.getAsJsonObject("data"), options, DataSettings.OPTIONS, NerTask.TYPE),
                    DataSettings.class);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("data.token_column and data.tag_column take column indexes (0 is the first), got "
                    + options.getOrDefault("token_column", "-") + " and " + options.getOrDefault("tag_column", "-"));
        }
    }

    /** Gold and predicted tags of each sentence. */
    private static EvalOutputs.Tags outputs(NerTagger t, List<ConllReader.Sentence> rows) {
        List<List<String>> gold = new ArrayList<>(rows.size());
        List<List<String>> words = new ArrayList<>(rows.size());
        for (ConllReader.Sentence s : rows) {
            gold.add(s.tags());
            words.add(s.tokens());
        }
        List<List<String>> pred = new ArrayList<>(rows.size());
        for (NerTagger.Tagged x : t.tagWordsBatch(words)) pred.add(x.tags());
        return new EvalOutputs.Tags(gold, pred);
    }

    private static Map<String, Object> metrics(EvalOutputs all) {
        EvalOutputs.Tags t = (EvalOutputs.Tags) all;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("sentences", t.gold().size());
        out.putAll(SeqevalMetrics.of(t.gold(), t.predicted()).toJson());
        return out;
    }

    /** Rows of a table in the JSONL layout (data.tokens_field, data.tags_field), in slices. */
    @Override
    public Evaluation evaluation() {
        return Evaluation.of((modelDir, device, options) -> {
            Path dir = TaskFolder.resolve(modelDir);
            ConllReader.Options o = settings(dir, options).options();
            NerTagger t = NerTagger.load(dir, device);
            return Scorer.of(t, (source, rows) -> outputs(t, ConllReader.fromJson(source, rows, o).sentences()));
        }, NerProvider::metrics);
    }
}
