package dev.kiln.models.bert;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
import dev.kiln.models.Backbone;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * BERT (post-LN encoder): config.json ↔ {@link BertConfig}, strict loading with the optional pooler /
 * MLM / NSP heads, {@code [CLS] a [SEP] b [SEP]} inputs with segment ids, HF's {@code Bert*} classes.
 */
public final class BertArchitecture implements Architecture {
    public static final String TYPE = "bert";
    public static final BertArchitecture INSTANCE = new BertArchitecture();

    /** BERT's optional parts: parameter-name prefix → what it is, for messages. */
    private static final Map<String, String> HEADS = Map.of(
            "bert.pooler.", "pooler", "cls.predictions.", "masked-LM head", "cls.seq_relationship.", "next-sentence head");

    @Override public String modelType() { return TYPE; }

    @Override public String displayName() { return "BERT"; }

    @Override
    public boolean recognizes(JsonObject config) {
        return config.has("hidden_size");
    }

    @Override
    public Backbone loadBackbone(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness) throws IOException {
        return load(dir, manager, BertModel.Heads.forFineTuning(), dropout == null ? null : dropoutOverride(dropout), strictness);
    }

    @Override
    public JsonObject dropoutOverride(Number p) {
        JsonObject o = new JsonObject();
        o.addProperty("hidden_dropout_prob", p);
        o.addProperty("attention_probs_dropout_prob", p);
        return o;
    }

    /**
     * Loads a BERT. {@code heads} null means: whatever the checkpoint has (pooler, MLM, NSP); parts asked
     * for but absent are an error unless {@code strictness} allows new heads. {@code overrides} (nullable)
     * replace config.json fields.
     */
    public static BertModel load(Path dir, NDManager manager, BertModel.Heads heads, JsonObject overrides,
                                 HfFolder.Strictness strictness) throws IOException {
        BertConfig config;
        try {
            config = BertConfig.fromJson(Architectures.config(dir, INSTANCE, overrides));
        } catch (IllegalArgumentException e) {
            throw HfFolder.configError(dir, e);
        }
        Map<String, HostTensor> tensors = SafeTensors.readCheckpoint(dir);
        if (heads == null) {
            heads = new BertModel.Heads();
            heads.pooler = tensors.keySet().stream().anyMatch(k -> k.contains("pooler."));
            heads.mlm = tensors.keySet().stream().anyMatch(k -> k.startsWith("cls.predictions"));
            heads.nsp = tensors.keySet().stream().anyMatch(k -> k.startsWith("cls.seq_relationship"));
        } else if (heads.poolerIfPresent) {
            heads.pooler = tensors.keySet().stream().anyMatch(k -> k.contains("pooler."));
        }
        BertModel model = new BertModel(config, new Parameters(manager, 42, config.initializerRange), heads);
        final boolean mlm = heads.mlm;
        final boolean nsp = heads.nsp;
        final boolean pooler = heads.pooler;
        // a pooler and pre-training heads that were not asked for are skipped on purpose, not "unexpected"
        model.loadReport = HfFolder.load(dir, model.params, tensors, k -> {
            String n = BertModel.mapCheckpointKey(k);
            if (n == null) return null;
            if (!pooler && n.startsWith("bert.pooler.")) return null;
            if (!mlm && n.startsWith("cls.predictions")) return null;
            if (!nsp && n.startsWith("cls.seq_relationship")) return null;
            return n;
        });
        HfFolder.check(dir, model.params, model.loadReport, strictness, HEADS);
        return model;
    }

    /** Writes a HF folder; one without MLM and NSP heads says {@code BertModel}. */
    public static void save(BertModel model, Path dir, Path tokenizerFrom) throws IOException {
        JsonObject cfg = model.config.toJson();
        if (model.mlm == null && model.nsp == null) {
            JsonArray a = new JsonArray();
            a.add("BertModel");
            cfg.add("architectures", a);
        }
        HfFolder.writeFolder(dir, cfg, model.params.stateDict(), tokenizerFrom);
    }

    @Override
    public String mapCheckpointKey(String key) {
        return BertModel.mapCheckpointKey(key);
    }

    /** {@code [CLS] a [SEP]} and {@code [CLS] a [SEP] b [SEP]}, b and its [SEP] in segment 1; WordPiece words need no space. */
    @Override
    public InputTemplate template(Tokenizer tok) {
        if (tok.clsId() == null || tok.sepId() == null || tok.clsId() < 0 || tok.sepId() < 0) {
            throw new IllegalArgumentException("BERT needs [CLS] and [SEP] tokens; this tokenizer has "
                    + (tok.clsId() == null || tok.clsId() < 0 ? "no cls_token" : "no sep_token"));
        }
        long[] cls = {tok.clsId()};
        long[] sep = {tok.sepId()};
        return new InputTemplate(cls, sep, sep, sep, 1, false);
    }

    @Override public String defaultPooling() { return "cls"; }

    @Override
    public String hfClass(HeadKind kind, Backbone backbone, String pooling) {
        switch (kind) {
            case BASE: return "BertModel";
            case SEQUENCE_CLASSIFICATION:
                // BertForSequenceClassification classifies the tanh pooler of [CLS]; without a pre-trained pooler
                // HF would initialise one at random
                boolean pooler = backbone.params().all().containsKey("bert.pooler.dense.weight");
                return "cls".equals(pooling) && pooler ? "BertForSequenceClassification" : null;
            case TOKEN_CLASSIFICATION: return "BertForTokenClassification";
            case QUESTION_ANSWERING: return "BertForQuestionAnswering";
            default: return null;
        }
    }

    @Override
    public String headName(HeadKind kind) {
        switch (kind) {
            case SEQUENCE_CLASSIFICATION:
            case TOKEN_CLASSIFICATION: return "classifier";
            case QUESTION_ANSWERING: return "qa_outputs";
            default: throw new IllegalArgumentException(kind + " has no head module");
        }
    }

    @Override
    public java.util.List<String> loraTargets() {
        return java.util.List.of("**.attention.self.query", "**.attention.self.value");
    }

    @Override
    public java.util.List<String> adapterSites(boolean houlsby) {
        return houlsby ? java.util.List.of("**.layer.*.attention.output.dense", "**.layer.*.output.dense")
                : java.util.List.of("**.layer.*.output.dense");
    }
}
