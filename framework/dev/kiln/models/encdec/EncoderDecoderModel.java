package dev.kiln.models.encdec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import dev.kiln.models.Architecture;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel.BertAttention;
import dev.kiln.models.bert.BertModel.BertEmbeddings;
import dev.kiln.models.bert.BertModel.BertLayer;
import dev.kiln.models.bert.BertModel.MlmHead;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * A BERT encoder and a BERT decoder joined by cross-attention: HF's {@code EncoderDecoderModel} with
 * {@code BertModel} + {@code BertLMHeadModel}, as warm-started by Rothe, Narayan and Severyn (2020). The decoder is
 * BERT's layer with causal self-attention, a cross-attention sublayer over the encoder's states between
 * self-attention and the feed-forward sublayer (each post-LN), and the MLM head tied to its word embeddings.
 *
 * <p>Parameter paths are HF's keys: {@code encoder.embeddings...}, {@code encoder.encoder.layer.N...},
 * {@code decoder.bert.encoder.layer.N.crossattention.self.query.weight}, {@code decoder.cls.predictions...}. With
 * {@code tie_encoder_decoder} (bert2bert-share) the decoder reuses the encoder's modules, so its BERT weights
 * exist once, under the encoder's names, as HF saves a tied model; its cross-attention and LM head are its own.
 */
public final class EncoderDecoderModel extends Module implements Backbone {
    public final EncoderDecoderConfig config;
    public final Parameters params;
    public final BertEmbeddings encoderEmbeddings;
    public final List<BertLayer> encoderLayers = new ArrayList<>();
    public final BertEmbeddings decoderEmbeddings;
    public final List<DecoderLayer> decoderLayers = new ArrayList<>();
    public final MlmHead lmHead;
    /** Set by the loader: which checkpoint keys were used, missing or unexpected. */
    public Parameters.LoadReport loadReport;

    /** One decoder layer: BERT's layer (its own, or the encoder's when shared) and its cross-attention. */
    public static final class DecoderLayer {
        /** The module at {@code decoder.bert.encoder.layer.N} (a container when the layer is shared). */
        public final Module node;
        public final BertLayer base;
        public final BertAttention cross;

        DecoderLayer(Module node, BertLayer base, BertAttention cross) {
            this.node = node;
            this.base = base;
            this.cross = cross;
        }
    }

    public EncoderDecoderModel(EncoderDecoderConfig config, Parameters params) {
        super(params);
        config.validate();
        this.config = config;
        this.params = params;
        BertConfig ec = config.encoder;
        BertConfig dc = config.decoder;
        Module encoder = new Module(this, "encoder");
        encoderEmbeddings = new BertEmbeddings(encoder, "embeddings", ec);
        Module encLayers = new Module(new Module(encoder, "encoder"), "layer");
        for (int i = 0; i < ec.numHiddenLayers; i++) encoderLayers.add(new BertLayer(encLayers, String.valueOf(i), ec));
        Module decoder = new Module(this, "decoder");
        Module bert = new Module(decoder, "bert");
        Module decLayers = new Module(new Module(bert, "encoder"), "layer");
        boolean share = config.tieEncoderDecoder;
        decoderEmbeddings = share ? encoderEmbeddings : new BertEmbeddings(bert, "embeddings", dc);
        for (int i = 0; i < dc.numHiddenLayers; i++) {
            String n = String.valueOf(i);
            BertLayer base = share ? encoderLayers.get(i) : new BertLayer(decLayers, n, dc);
            Module node = share ? new Module(decLayers, n) : base;
            decoderLayers.add(new DecoderLayer(node, base, new BertAttention(node, "crossattention", dc)));
        }
        lmHead = new MlmHead(new Module(decoder, "cls"), "predictions", dc, decoderEmbeddings.word);
    }

    // ---- encoder -----------------------------------------------------------------------------------------

    /** What the decoder attends to: the encoder's states and its padding as an additive [B, 1, 1, S] mask. */
    public record Encoded(NDArray states, NDArray mask) {}

    /**
     * @param ids  [B, S] int64 article tokens
     * @param mask [B, S] 1 for tokens, 0 for padding
     */
    public Encoded encode(NDArray ids, NDArray mask, boolean training) {
        checkLength(ids, config.encoder, "encoder");
        NDArray x = encoderEmbeddings.forward(ids, null, 0, training);
        NDArray additive = Functional.paddingMask(mask, x.getDataType());
        for (BertLayer l : encoderLayers) x = l.forward(x, additive, training);
        return new Encoded(x, additive);
    }

    private static void checkLength(NDArray ids, BertConfig c, String side) {
        long t = ids.getShape().get(1);
        if (t > c.maxPositionEmbeddings) {
            throw new IllegalArgumentException(side + " sequence length " + t + " exceeds max_position_embeddings " + c.maxPositionEmbeddings);
        }
    }

    // ---- decoder -----------------------------------------------------------------------------------------

    /**
     * Keys and values for incremental decoding: the self-attention's grow by a token per step, the
     * cross-attention's are computed once from the encoder's states. Rows can be reordered (beam search).
     */
    public static final class Cache extends dev.kiln.nn.KvCache {
        private final NDArray[] crossKeys;
        private final NDArray[] crossValues;
        private NDArray encoderMask;

        Cache(NDManager parent, int layers) {
            super(parent, layers);
            crossKeys = new NDArray[layers];
            crossValues = new NDArray[layers];
        }

        /** Keeps batch rows {@code index} of everything cached, in that order. */
        @Override
        public void select(NDArray index) {
            super.select(index);
            selectRows(index, crossKeys);
            selectRows(index, crossValues);
            NDArray m = encoderMask.get(index);
            encoderMask.close();
            encoderMask = m;
        }
    }

    /** A cache holding the cross-attention keys and values of {@code enc} (computed here, once). */
    public Cache newCache(Encoded enc) {
        Cache c = new Cache(params.manager(), decoderLayers.size());
        // the projections land in enc's manager (the caller's step); the cache keeps copies
        for (int i = 0; i < decoderLayers.size(); i++) {
            NDArray[] kv = crossKv(decoderLayers.get(i), enc.states());
            c.crossKeys[i] = c.keep(kv[0]);
            c.crossValues[i] = c.keep(kv[1]);
        }
        c.encoderMask = c.keep(enc.mask());
        return c;
    }

    private static NDArray[] crossKv(DecoderLayer l, NDArray encoderStates) {
        var self = l.cross.self;
        return new NDArray[] {self.heads(self.key.forward(encoderStates)), self.heads(self.value.forward(encoderStates))};
    }

    /**
     * Decoder states [B, T, H] for decoder inputs {@code ids} [B, T] over the encoder's output. Full pass
     * ({@code cache} null, teacher forcing): {@code enc} is required, {@code mask} (nullable) marks decoder padding.
     * Incremental ({@code cache} given): {@code ids} are the new tokens only, {@code enc} is not used.
     */
    public NDArray decode(NDArray ids, NDArray mask, Encoded enc, Cache cache, boolean training) {
        long past = cache == null ? 0 : cache.length();
        long t = ids.getShape().get(1);
        if (past + t > config.decoder.maxPositionEmbeddings) {
            throw new IllegalArgumentException("decoder length " + (past + t) + " exceeds max_position_embeddings "
                    + config.decoder.maxPositionEmbeddings);
        }
        NDArray x = decoderEmbeddings.forward(ids, null, past, training);
        NDArray selfMask = causalMask(x, t, past, mask);
        for (int i = 0; i < decoderLayers.size(); i++) {
            DecoderLayer l = decoderLayers.get(i);
            var self = l.base.attention.self;
            NDArray k = self.heads(self.key.forward(x));
            NDArray v = self.heads(self.value.forward(x));
            if (cache != null) {
                NDArray[] kv = cache.append(i, k, v);
                k = kv[0];
                v = kv[1];
            }
            NDArray a = l.base.attention.output.forward(self.attend(x, k, v, selfMask, training), x, training);
            NDArray ck;
            NDArray cv;
            NDArray crossMask;
            if (cache != null) {
                ck = cache.crossKeys[i];
                cv = cache.crossValues[i];
                crossMask = cache.encoderMask;
            } else {
                NDArray[] kv = crossKv(l, enc.states());
                ck = kv[0];
                cv = kv[1];
                crossMask = enc.mask();
            }
            NDArray c = l.cross.output.forward(l.cross.self.attend(a, ck, cv, crossMask, training), a, training);
            x = l.base.feedForward(c, training);
        }
        return x;
    }

    /**
     * Additive [B or 1, 1, T, past + T]: query i (position past + i) sees keys up to past + i, and none of the
     * decoder's padding; null for a single new token without padding (it may see everything cached).
     */
    private static NDArray causalMask(NDArray like, long t, long past, NDArray padding) {
        NDManager m = like.getManager();
        NDArray mask = null;
        if (t > 1) {
            long total = past + t;
            float[] v = new float[Math.toIntExact(t * total)];
            for (int i = 0; i < t; i++) {
                for (long j = past + i + 1; j < total; j++) v[Math.toIntExact(i * total + j)] = Functional.MASK_VALUE;
            }
            mask = m.create(v, new Shape(1, 1, t, total));
        }
        if (padding != null) {
            if (past > 0) throw new IllegalArgumentException("a decoder padding mask is only for a full pass");
            NDArray p = Functional.paddingMask(padding, like.getDataType());
            mask = mask == null ? p : p.add(mask).maximum(Functional.MASK_VALUE);
        }
        return mask;
    }

    /** Next-token logits over the vocabulary for decoder states [..., H]. */
    public NDArray logits(NDArray decoderStates) {
        return lmHead.forward(decoderStates);
    }

    /** Teacher-forced logits [B, T, V]: encoder over {@code srcIds}, decoder over {@code tgtIds}. */
    public NDArray forward(NDArray srcIds, NDArray srcMask, NDArray tgtIds, NDArray tgtMask, boolean training) {
        return logits(decode(tgtIds, tgtMask, encode(srcIds, srcMask, training), null, training));
    }

    // ---- FLOPs -------------------------------------------------------------------------------------------

    /**
     * Training FLOPs (forward and backward: 6 per parameter a token meets, PaLM's count) of teacher forcing on
     * {@code rows} pairs padded to {@code srcWidth} encoder and {@code tgtWidth} decoder positions, {@code targets}
     * of which go through the vocabulary projection. Each token meets only its side's parameters: an article token
     * the encoder's layers and each decoder layer's cross-attention key/value projections, a decoder token its
     * layers' self-attention, cross-attention query/output and feed-forward, a target the LM head with its tied
     * word table; embedding tables are looked up, not multiplied (their LayerNorms count, as everywhere in Kiln).
     * Attention adds 12·d per query and key position a layer scores: the encoder's S×S, the decoder's T×T (the
     * causal half is masked, not skipped) and T×S cross scores. Shared layers (bert2bert-share) run on both sides,
     * so they count on both.
     */
    public double trainingFlops(long rows, long srcWidth, long tgtWidth, long targets) {
        long enc = encoderEmbeddings.matmulParameterCount();
        for (BertLayer l : encoderLayers) enc += l.matmulParameterCount();
        long crossKv = 0;
        long dec = decoderEmbeddings.matmulParameterCount();
        for (DecoderLayer l : decoderLayers) {
            var self = l.cross.self;
            long kv = self.key.matmulParameterCount() + self.value.matmulParameterCount();
            crossKv += kv;
            // the node holds the cross-attention, and is the BERT layer itself unless that is the encoder's
            dec += l.node.matmulParameterCount() + (l.node == l.base ? 0 : l.base.matmulParameterCount()) - kv;
        }
        long head = lmHead.matmulParameterCount() + decoderEmbeddings.word.parameterCount();
        double d = config.decoder.hiddenSize;
        double encTokens = (double) rows * srcWidth;
        double decTokens = (double) rows * tgtWidth;
        double attention = 12.0 * config.encoder.hiddenSize * encoderLayers.size() * srcWidth * encTokens
                + 12.0 * d * decoderLayers.size() * (tgtWidth + srcWidth) * decTokens;
        return 6.0 * ((enc + crossKv) * encTokens + dec * decTokens + (double) head * targets) + attention;
    }

    // ---- Backbone ----------------------------------------------------------------------------------------

    @Override public Architecture architecture() { return EncoderDecoderArchitecture.INSTANCE; }
    @Override public Parameters params() { return params; }
    @Override public Module root() { return this; }
    @Override public Module body() { return this; }

    @Override
    public List<Module> embeddingModules() {
        return config.tieEncoderDecoder ? List.of(encoderEmbeddings) : List.of(encoderEmbeddings, decoderEmbeddings);
    }

    /** Encoder layers, then decoder layers (the shared ones' containers hold only their cross-attention). */
    @Override
    public List<Module> layerModules() {
        List<Module> out = new ArrayList<>(encoderLayers);
        for (DecoderLayer l : decoderLayers) out.add(l.node);
        return out;
    }

    @Override public int hiddenSize() { return config.encoder.hiddenSize; }
    @Override public int numLayers() { return config.encoder.numHiddenLayers + config.decoder.numHiddenLayers; }
    @Override public int maxPositions() { return config.encoder.maxPositionEmbeddings; }
    @Override public float hiddenDropout() { return config.encoder.hiddenDropoutProb; }

    /** The encoder's states (what a sequence-level head would read). */
    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        NDArray mask = attentionMask == null ? ids.onesLike() : attentionMask;
        return encode(ids, mask, training).states();
    }

    @Override
    public NDArray sequenceVector(NDArray hidden, NDArray attentionMask, String pooling) {
        switch (pooling) {
            case "cls": return hidden.get(new NDIndex(":, 0, :"));
            case "mean": return dev.kiln.nn.Pooling.mean(hidden, attentionMask);
            default: throw new IllegalArgumentException("pooling '" + pooling + "' (expected cls or mean)");
        }
    }

    @Override
    public JsonObject configJson() {
        return config.toJson();
    }

    /**
     * Maps a checkpoint key to our parameter name, or null for what is not loaded: buffers, the LM head's
     * decoder (tied to the word embeddings), and with {@code tied} the decoder's copies of encoder weights.
     */
    public static String mapCheckpointKey(String key, boolean tied) {
        String k = key;
        if (k.endsWith(".gamma")) k = k.substring(0, k.length() - 6) + ".weight";
        if (k.endsWith(".beta")) k = k.substring(0, k.length() - 5) + ".bias";
        if (k.endsWith("embeddings.position_ids")) return null;
        if (k.equals("decoder.cls.predictions.decoder.weight") || k.equals("decoder.cls.predictions.decoder.bias")) return null;
        if (k.startsWith("encoder.pooler.")) return null; // BertModel's pooler: EncoderDecoderModel never reads it
        if (tied && k.startsWith("decoder.bert.") && !k.contains(".crossattention.")) return null;
        return k;
    }
}
