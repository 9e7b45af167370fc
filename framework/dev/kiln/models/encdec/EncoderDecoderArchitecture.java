package dev.kiln.models.encdec;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertArchitecture;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * HF's {@code EncoderDecoderModel} with BERT on both sides ({@code model_type} "encoder-decoder"): config.json ↔
 * {@link EncoderDecoderConfig}, strict loading, warm-starting both halves from one BERT folder (Rothe et al.
 * 2020), BERT's {@code [CLS] a [SEP]} inputs.
 */
public final class EncoderDecoderArchitecture implements Architecture {
    public static final EncoderDecoderArchitecture INSTANCE = new EncoderDecoderArchitecture();

    @Override public String modelType() { return EncoderDecoderConfig.MODEL_TYPE; }

    @Override public String displayName() { return "BERT encoder-decoder"; }

    @Override
    public boolean recognizes(JsonObject config) {
        return config.has("encoder") && config.has("decoder") && config.has("decoder_start_token_id");
    }

    @Override
    public Backbone loadBackbone(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness) throws IOException {
        return load(dir, manager, dropout, strictness);
    }

    /** Given at the top level, these apply to the encoder and the decoder alike ({@link EncoderDecoderConfig}). */
    @Override
    public JsonObject dropoutOverride(Number p) {
        return BertArchitecture.INSTANCE.dropoutOverride(p);
    }

    /** Loads an encoder-decoder folder strictly; {@code dropout} (nullable) replaces both sides' dropout. */
    public static EncoderDecoderModel load(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness)
            throws IOException {
        EncoderDecoderConfig config;
        try {
            config = EncoderDecoderConfig.fromJson(Architectures.config(dir, INSTANCE,
                    dropout == null ? null : INSTANCE.dropoutOverride(dropout)));
        } catch (IllegalArgumentException e) {
            throw HfFolder.configError(dir, e);
        }
        EncoderDecoderModel model = new EncoderDecoderModel(config, new Parameters(manager, 42, config.decoder.initializerRange));
        boolean tied = config.tieEncoderDecoder;
        model.loadReport = HfFolder.load(dir, model.params, SafeTensors.readCheckpoint(dir),
                k -> EncoderDecoderModel.mapCheckpointKey(k, tied));
        HfFolder.check(dir, model.params, model.loadReport, strictness, Map.of());
        return model;
    }

    /**
     * An encoder-decoder whose encoder and decoder both start from the BERT in {@code bertDir} (bert2bert; with
     * {@code share}, bert2bert-share: one set of BERT weights). New by design, and named in one notice line:
     * every layer's cross-attention, and the LM head's transform and bias when the checkpoint has no MLM head
     * (a sentence-embedding model such as all-MiniLM-L6-v2); the head's decoder is always the word embeddings.
     */
    public static EncoderDecoderModel warmStart(Path bertDir, NDManager manager, boolean share, Float dropout,
                                                int decoderStartTokenId, int padTokenId, int eosTokenId) throws IOException {
        return warmStart(bertDir, manager, share, dropout, decoderStartTokenId, padTokenId, eosTokenId, false);
    }

    /**
     * As above; with {@code crossFromSelf} each layer's cross-attention starts as a copy of that layer's pretrained
     * self-attention (query, key, value, output dense and LayerNorm) instead of random weights. Rothe et al. start it
     * randomly and train for hundreds of thousands of steps; a copy attends from the first step with projections that
     * already match tokens by content and position, so a short (CPU) run learns to read the article.
     */
    public static EncoderDecoderModel warmStart(Path bertDir, NDManager manager, boolean share, Float dropout,
                                                int decoderStartTokenId, int padTokenId, int eosTokenId,
                                                boolean crossFromSelf) throws IOException {
        JsonObject raw;
        BertConfig enc;
        BertConfig dec;
        try {
            raw = Architectures.config(bertDir, BertArchitecture.INSTANCE,
                    dropout == null ? null : BertArchitecture.INSTANCE.dropoutOverride(dropout));
            enc = BertConfig.fromJson(raw);
            dec = BertConfig.fromJson(raw);
        } catch (IllegalArgumentException e) {
            throw HfFolder.configError(bertDir, e);
        }
        EncoderDecoderConfig c = new EncoderDecoderConfig();
        c.encoder = enc;
        c.decoder = dec;
        c.decoderStartTokenId = decoderStartTokenId;
        c.padTokenId = padTokenId;
        c.eosTokenId = eosTokenId;
        c.tieEncoderDecoder = share;
        EncoderDecoderModel model = new EncoderDecoderModel(c, new Parameters(manager, 42, dec.initializerRange));
        Map<String, HostTensor> tensors = SafeTensors.readCheckpoint(bertDir);
        // each BERT tensor goes to the encoder and (unless shared) to the decoder's BERT; an MLM head to the decoder's
        Parameters.LoadReport toEncoder = HfFolder.load(bertDir, model.params, tensors, k -> {
            String n = BertModel.mapCheckpointKey(k);
            return n != null && n.startsWith("bert.") && !n.startsWith("bert.pooler.") ? "encoder." + n.substring(5) : null;
        });
        Parameters.LoadReport toDecoder = HfFolder.load(bertDir, model.params, tensors, k -> {
            String n = BertModel.mapCheckpointKey(k);
            if (n == null) return null;
            if (n.startsWith("cls.predictions.")) return "decoder." + n;
            return !share && n.startsWith("bert.") && !n.startsWith("bert.pooler.") ? "decoder." + n : null;
        });
        List<String> fresh = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String k : toEncoder.missing) {
            if (!toDecoder.missing.contains(k)) continue;
            (k.contains(".crossattention.") || k.startsWith("decoder.cls.predictions.") ? fresh : missing).add(k);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(bertDir + ": the checkpoint lacks " + missing.size() + " BERT tensor"
                    + (missing.size() == 1 ? "" : "s") + " the warm start needs: " + Parameters.LoadReport.summary(missing)
                    + "; it is incomplete or config.json describes another model");
        }
        if (crossFromSelf) {
            for (EncoderDecoderModel.DecoderLayer l : model.decoderLayers) copyInto(l.base.attention, l.cross);
        }
        boolean headFresh = fresh.stream().anyMatch(k -> k.startsWith("decoder.cls."));
        System.err.println("note: " + bertDir + ": warm start" + (share ? " (encoder and decoder share weights)" : "")
                + "; new: decoder.bert.encoder.layer.*.crossattention.* ("
                + (crossFromSelf ? "copied from each layer's self-attention" : "randomly initialised") + ")"
                + (headFresh ? ", decoder.cls.predictions.{transform.*,bias} (random: the checkpoint has no MLM head)" : ""));
        List<String> loaded = new ArrayList<>(toEncoder.loaded);
        loaded.addAll(toDecoder.loaded);
        model.loadReport = new Parameters.LoadReport();
        model.loadReport.loaded.addAll(loaded);
        model.loadReport.missing.addAll(fresh);
        return model;
    }

    /** Copies every parameter of {@code from} into the same-shaped, same-structured {@code to}, in place. */
    private static void copyInto(Module from, Module to) {
        List<String> src = from.parameterKeys();
        List<String> dst = to.parameterKeys();
        if (src.size() != dst.size()) throw new IllegalStateException(from.path() + " and " + to.path() + " differ in structure");
        Parameters p = from.store();
        for (int i = 0; i < src.size(); i++) {
            String a = src.get(i).substring(from.path().length());
            String b = dst.get(i).substring(to.path().length());
            if (!a.equals(b)) throw new IllegalStateException(src.get(i) + " does not match " + dst.get(i));
            p.get(src.get(i)).copyTo(p.get(dst.get(i)));
        }
    }

    /** Writes an HF {@code EncoderDecoderModel} folder (config.json, model.safetensors, tokenizer files). */
    public static void save(EncoderDecoderModel model, Path dir, Path tokenizerFrom) throws IOException {
        HfFolder.writeFolder(dir, model.configJson(), model.params.stateDict(), tokenizerFrom);
    }

    @Override
    public String mapCheckpointKey(String key) {
        return EncoderDecoderModel.mapCheckpointKey(key, false);
    }

    /** BERT's inputs on both sides. */
    @Override
    public InputTemplate template(Tokenizer tok) {
        return BertArchitecture.INSTANCE.template(tok);
    }

    @Override public String defaultPooling() { return "mean"; }

    /** Only the whole model is an HF class; Kiln attaches no other head to it. */
    @Override
    public String hfClass(HeadKind kind, Backbone backbone, String pooling) {
        return kind == HeadKind.BASE ? "EncoderDecoderModel" : null;
    }

    @Override
    public String headName(HeadKind kind) {
        throw new IllegalArgumentException("the encoder-decoder has no " + kind + " head; use it for sequence-to-sequence tasks");
    }

    /** PEFT's ["query", "value"], which match by suffix: self-attention on both sides and the cross-attention. */
    @Override
    public List<String> loraTargets() {
        return List.of("**.self.query", "**.self.value");
    }

    @Override
    public List<String> adapterSites(boolean houlsby) {
        return BertArchitecture.INSTANCE.adapterSites(houlsby);
    }
}
