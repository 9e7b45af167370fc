package dev.kiln.models.bert;

import dev.kiln.models.Backbone;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.Functional;
import dev.kiln.nn.LayerNorm;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.PackedRows;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * BERT (Devlin et al. 2018): a post-LN Transformer encoder, with the optional pre-training heads
 * (masked-LM with the decoder tied to the word embeddings, and next-sentence prediction).
 *
 * <p>The model is the root of a module tree laid out as HF {@code BertForPreTraining}: {@code bert} (embeddings,
 * encoder.layer.N, pooler) and {@code cls} (predictions, seq_relationship); task heads attach beside them
 * ({@code classifier}, {@code qa_outputs}). Parameter paths are the HF keys
 * ({@code bert.encoder.layer.0.attention.self.query.weight}), so checkpoints load by name.
 */
public final class BertModel extends Module implements Backbone {

    /** Which parts beyond the encoder exist. */
    public static final class Heads {
        public boolean pooler = true;
        public boolean mlm;
        public boolean nsp;
        /** Decide {@link #pooler} from the checkpoint (fine-tuning: use it when it was pre-trained). */
        public boolean poolerIfPresent;

        /** Encoder and, when the checkpoint has one, the pooler: what a task head builds on. */
        public static Heads forFineTuning() {
            Heads h = encoderOnly();
            h.poolerIfPresent = true;
            return h;
        }

        public static Heads encoderOnly() {
            Heads h = new Heads();
            h.pooler = false;
            return h;
        }

        public static Heads all() {
            Heads h = new Heads();
            h.mlm = true;
            h.nsp = true;
            return h;
        }
    }

    public final BertConfig config;
    public final Parameters params;
    /** {@code bert}: the pretrained encoder (embeddings, encoder, pooler); everything else is a head. */
    public final Module bert;
    public final BertEmbeddings embeddings;
    public final List<BertLayer> layers = new ArrayList<>();
    public final Linear pooler;
    public final MlmHead mlm;
    public final Linear nsp;
    /** Set by the loader: which checkpoint keys were used, missing or unexpected. */
    public Parameters.LoadReport loadReport;

    public BertModel(BertConfig config, Parameters params, Heads heads) {
        super(params);
        this.config = config;
        this.params = params;
        int h = config.hiddenSize;
        bert = new Module(this, "bert");
        embeddings = new BertEmbeddings(bert, "embeddings", config);
        Module layer = new Module(new Module(bert, "encoder"), "layer");
        for (int i = 0; i < config.numHiddenLayers; i++) {
            layers.add(new BertLayer(layer, String.valueOf(i), config));
        }
        pooler = heads.pooler ? new Linear(new Module(bert, "pooler"), "dense", h, h, true) : null;
        Module cls = heads.mlm || heads.nsp ? new Module(this, "cls") : null;
        mlm = heads.mlm ? new MlmHead(cls, "predictions", config, embeddings.word) : null;
        nsp = heads.nsp ? new Linear(cls, "seq_relationship", h, 2, true) : null;
    }

    /**
     * Training FLOPs (forward and backward) of pretraining on {@code rows} sequences padded to {@code width} with
     * {@code masked} masked positions, counted as {@code EncoderDecoderModel.trainingFlops} counts: 6 per parameter a
     * position meets (the embeddings' LayerNorm and the layers at every position; the MLM head and its tied word table
     * at the masked ones, the only ones it runs on; pooler and NSP head once per row), no lookup table, and 12·d per
     * query-key pair each layer scores.
     */
    public double pretrainingFlops(long rows, long width, long masked) {
        long body = embeddings.matmulParameterCount();
        for (BertLayer l : layers) body += l.matmulParameterCount();
        double positions = (double) rows * width;
        double f = 6.0 * body * positions + 12.0 * config.hiddenSize * layers.size() * width * positions;
        if (mlm != null) f += 6.0 * (mlm.matmulParameterCount() + embeddings.word.parameterCount()) * masked;
        long perRow = (pooler == null ? 0 : pooler.matmulParameterCount()) + (nsp == null ? 0 : nsp.matmulParameterCount());
        return f + 6.0 * perRow * rows;
    }

    /** What a forward pass returns; absent parts are null. */
    public static final class Output {
        /** [B, T, H] after the last layer. */
        public NDArray lastHiddenState;
        /** [B, H] tanh(W h_[CLS]) when the model has a pooler. */
        public NDArray pooled;
        /** Hidden states after the embeddings and after each layer (L + 1 of them) when asked. */
        public List<NDArray> hiddenStates;
    }

    /**
     * @param inputIds      [B, T] int64
     * @param tokenTypeIds  [B, T] or null (all segment 0)
     * @param attentionMask [B, T] 1 for tokens, 0 for padding, or null (no padding)
     */
    public Output forward(NDArray inputIds, NDArray tokenTypeIds, NDArray attentionMask,
                          boolean training, boolean keepHiddenStates) {
        long t = inputIds.getShape().get(1);
        if (t > config.maxPositionEmbeddings) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings);
        }
        NDArray x = embeddings.forward(inputIds, tokenTypeIds, training);
        // Extended attention mask: [B, 1, 1, T], 0 to attend and -10000 for padding, added to the scores.
        NDArray mask = attentionMask == null ? null : Functional.paddingMask(attentionMask, x.getDataType());
        Output out = new Output();
        // Inference (no dropout, no gradients): the layers compute the real tokens' rows only (PackedRows)
        PackedRows packed = Functional.inference(training) && !keepHiddenStates ? PackedRows.of(attentionMask, x) : null;
        if (packed != null) {
            if (!packed.padded()) mask = null; // adding zeros changes no score
            NDArray rows = packed.pack(x);
            for (BertLayer layer : layers) rows = layer.inference(rows, packed, mask);
            x = packed.unpack(rows);
        } else {
            if (keepHiddenStates) {
                out.hiddenStates = new ArrayList<>();
                out.hiddenStates.add(x);
            }
            for (BertLayer layer : layers) {
                x = layer.forward(x, mask, training);
                if (keepHiddenStates) out.hiddenStates.add(x);
            }
        }
        out.lastHiddenState = x;
        if (pooler != null) {
            out.pooled = pooler.forward(x.get(new NDIndex(":, 0, :"))).tanh();
        }
        return out;
    }

    public Output forward(NDArray inputIds, NDArray tokenTypeIds, NDArray attentionMask, boolean training) {
        return forward(inputIds, tokenTypeIds, attentionMask, training, false);
    }

    /** MLM logits [B, T, V] (or [N, V] for hidden states already gathered at masked positions). */
    public NDArray mlmLogits(NDArray hidden) {
        if (mlm == null) throw new IllegalStateException("this BERT has no masked-LM head (cls.predictions.*)");
        return mlm.forward(hidden);
    }

    /** NSP logits [B, 2]: index 0 = "B follows A", 1 = "B is random", as in the original. */
    public NDArray nspLogits(NDArray pooled) {
        if (nsp == null) throw new IllegalStateException("this BERT has no next-sentence head (cls.seq_relationship.*)");
        return nsp.forward(pooled);
    }

    /** Word + position + token-type embeddings, then LayerNorm and dropout. */
    public static final class BertEmbeddings extends Module {
        public final Embedding word;
        final Embedding position;
        final Embedding tokenType;
        final LayerNorm layerNorm;
        final float dropout;

        public BertEmbeddings(Module parent, String name, BertConfig c) {
            super(parent, name);
            word = new Embedding(this, "word_embeddings", c.vocabSize, c.hiddenSize);
            position = new Embedding(this, "position_embeddings", c.maxPositionEmbeddings, c.hiddenSize);
            tokenType = new Embedding(this, "token_type_embeddings", c.typeVocabSize, c.hiddenSize);
            layerNorm = new LayerNorm(this, "LayerNorm", c.hiddenSize, c.layerNormEps);
            dropout = c.hiddenDropoutProb;
        }

        NDArray forward(NDArray ids, NDArray typeIds, boolean training) {
            return forward(ids, typeIds, 0, training);
        }

        /** As a full pass, with positions from {@code firstPosition} on (a decoder fed one token at a time). */
        public NDArray forward(NDArray ids, NDArray typeIds, long firstPosition, boolean training) {
            NDManager m = ids.getManager();
            long t = ids.getShape().get(1);
            NDArray positions = m.arange(firstPosition, firstPosition + t, 1, DataType.INT64, ids.getDevice()).reshape(1, t);
            if (typeIds == null) typeIds = ids.zerosLike();
            NDArray e = word.forward(ids).addi(position.forward(positions)).addi(tokenType.forward(typeIds));
            return Functional.dropout(layerNorm.forward(e), dropout, training);
        }
    }

    /** Multi-head self-attention with separate query/key/value projections (the checkpoint's layout). */
    public static final class BertSelfAttention extends Module {
        public final Linear query;
        public final Linear key;
        public final Linear value;
        final int heads;
        final float dropout;

        public BertSelfAttention(Module parent, String name, BertConfig c) {
            super(parent, name);
            int h = c.hiddenSize;
            query = new Linear(this, "query", h, h, true);
            key = new Linear(this, "key", h, h, true);
            value = new Linear(this, "value", h, h, true);
            heads = c.numAttentionHeads;
            dropout = c.attentionProbsDropoutProb;
        }

        public NDArray forward(NDArray x, NDArray mask, boolean training) {
            return attend(x, heads(key.forward(x)), heads(value.forward(x)), mask, training);
        }

        /** [B, T, H] → [B, heads, T, H/heads]: keys or values, which a decoder caches or computes once. */
        public NDArray heads(NDArray projected) {
            return Functional.splitHeads(projected, heads);
        }

        /**
         * The inference path's attention (no dropout) on the real tokens' rows [1, N, H]: q, k and v are gathered
         * straight into [B·heads, T, d] (the one copy a head split needs; bmm reads k's transposed view), the scale
         * is multiplied into the fresh query and the mask added to the fresh scores in place, and the context is
         * gathered back to [1, N, H] rows.
         */
        NDArray inferenceAttend(NDArray rows, PackedRows p, NDArray mask) {
            long h = rows.getShape().get(2), d = h / heads;
            NDArray q = query.forward(rows);
            NDArray qh = p.toHeads(q.muli(Functional.scalar(q, 1.0 / Math.sqrt(d))), heads);
            NDArray scores = qh.batchMatMul(p.toHeads(key.forward(rows), heads).transpose(0, 2, 1));
            if (mask != null) scores.reshape(p.batch(), heads, p.width(), p.width()).addi(mask); // a view: adds into scores
            return p.fromHeads(scores.softmax(-1).batchMatMul(p.toHeads(value.forward(rows), heads)), heads);
        }

        /**
         * Attention of {@code x}'s queries over keys and values already split into heads: a decoder's cached
         * self-attention, or cross-attention over an encoder's states (BERT's layout with is_cross_attention).
         */
        public NDArray attend(NDArray x, NDArray k, NDArray v, NDArray mask, boolean training) {
            NDArray q = Functional.splitHeads(query.forward(x), heads);
            return Functional.mergeHeads(Functional.attention(q, k, v, mask, dropout, training));
        }
    }

    /** Dense, dropout, then LayerNorm of (that + residual): the post-LN step used twice per layer. */
    public static final class BertSublayerOutput extends Module {
        final Linear dense;
        final LayerNorm layerNorm;
        final float dropout;

        public BertSublayerOutput(Module parent, String name, long in, long out, BertConfig c) {
            super(parent, name);
            dense = new Linear(this, "dense", in, out, true);
            layerNorm = new LayerNorm(this, "LayerNorm", out, c.layerNormEps);
            dropout = c.hiddenDropoutProb;
        }

        public NDArray forward(NDArray h, NDArray residual, boolean training) {
            return layerNorm.forward(Functional.dropout(dense.forward(h), dropout, training).addi(residual));
        }
    }

    /** The attention sublayer: self-attention, then the post-LN output step. */
    public static final class BertAttention extends Module {
        public final BertSelfAttention self;
        public final BertSublayerOutput output;

        public BertAttention(Module parent, String name, BertConfig c) {
            super(parent, name);
            self = new BertSelfAttention(this, "self", c);
            output = new BertSublayerOutput(this, "output", c.hiddenSize, c.hiddenSize, c);
        }

        public NDArray forward(NDArray x, NDArray mask, boolean training) {
            return output.forward(self.forward(x, mask, training), x, training);
        }
    }

    /** One encoder layer: x → LN(x + Attn(x)) → LN(· + FFN(·)). */
    public static final class BertLayer extends Module {
        public final BertAttention attention;
        final Linear intermediate;
        final BertSublayerOutput output;
        final String act;

        public BertLayer(Module parent, String name, BertConfig c) {
            super(parent, name);
            attention = new BertAttention(this, "attention", c);
            intermediate = new Linear(new Module(this, "intermediate"), "dense", c.hiddenSize, c.intermediateSize, true);
            output = new BertSublayerOutput(this, "output", c.intermediateSize, c.hiddenSize, c);
            act = c.hiddenAct;
        }

        public NDArray forward(NDArray x, NDArray mask, boolean training) {
            if (Functional.inference(training)) {
                PackedRows all = PackedRows.of(null, x); // every position is a row; the additive mask still applies
                return all.unpack(inference(all.pack(x), all, mask));
            }
            return feedForward(attention.forward(x, mask, training), training);
        }

        /**
         * The same function without dropout or gradients, cheaper (see {@link BertModel#forward}): on the real
         * tokens' rows [1, N, H] only (a padded batch's padding costs nothing outside attention), attention with one
         * gather per head split ({@link BertSelfAttention#inferenceAttend}). A wrapped projection gets those rows
         * too: a {@link dev.kiln.nn.Projection} acts on the last axis only.
         */
        NDArray inference(NDArray rows, PackedRows p, NDArray mask) {
            NDArray a = attention.output.forward(attention.self.inferenceAttend(rows, p, mask), rows, false);
            return output.forward(Functional.activation(act, intermediate.forward(a)), a, false);
        }

        /** The feed-forward sublayer after attention (a decoder layer runs cross-attention before it). */
        public NDArray feedForward(NDArray a, boolean training) {
            return output.forward(Functional.activation(act, intermediate.forward(a)), a, training);
        }
    }

    /** cls.predictions: dense + act + LayerNorm, then the tied word-embedding decoder plus a bias. */
    public static final class MlmHead extends Module {
        final Linear transform;
        final LayerNorm layerNorm;
        final String bias;
        final Embedding decoder;
        final String act;

        public MlmHead(Module parent, String name, BertConfig c, Embedding tiedDecoder) {
            super(parent, name);
            Module t = new Module(this, "transform");
            transform = new Linear(t, "dense", c.hiddenSize, c.hiddenSize, true);
            layerNorm = new LayerNorm(t, "LayerNorm", c.hiddenSize, c.layerNormEps);
            bias = param("bias", Parameters.Init.ZEROS, c.vocabSize);
            decoder = tiedDecoder;
            act = c.hiddenAct;
        }

        public NDArray forward(NDArray h) {
            NDArray t = layerNorm.forward(Functional.activation(act, transform.forward(h)));
            return ai.djl.nn.core.Linear.linear(t, decoder.table(), p(bias)).singletonOrThrow();
        }
    }

    @Override public dev.kiln.models.Architecture architecture() { return BertArchitecture.INSTANCE; }
    @Override public Parameters params() { return params; }
    @Override public Module root() { return this; }
    @Override public Module body() { return bert; }
    @Override public List<Module> embeddingModules() { return List.of(embeddings); }
    @Override public List<BertLayer> layerModules() { return layers; }
    @Override public int hiddenSize() { return config.hiddenSize; }
    @Override public int numLayers() { return config.numHiddenLayers; }
    @Override public int maxPositions() { return config.maxPositionEmbeddings; }
    @Override public float hiddenDropout() { return config.hiddenDropoutProb; }

    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        return forward(ids, typeIds, attentionMask, training).lastHiddenState;
    }

    @Override
    public NDArray sequenceVector(NDArray hidden, NDArray attentionMask, String pooling) {
        switch (pooling) {
            case "cls": {
                NDArray cls = hidden.get(new NDIndex(":, 0, :"));
                // HF BertForSequenceClassification classifies the pooler output
                return pooler == null ? cls : pooler.forward(cls).tanh();
            }
            case "mean": return dev.kiln.nn.Pooling.mean(hidden, attentionMask);
            case "last": return dev.kiln.nn.Pooling.lastToken(hidden, attentionMask);
            default: throw new IllegalArgumentException("pooling '" + pooling + "' (expected cls, mean or last)");
        }
    }

    @Override
    public com.google.gson.JsonObject configJson() {
        return config.toJson();
    }

    /** Maps a checkpoint key to our parameter name, or null for keys deliberately not loaded. */
    public static String mapCheckpointKey(String key) {
        String k = key;
        // TF-converted checkpoints sometimes keep gamma/beta for LayerNorm.
        if (k.endsWith(".gamma")) k = k.substring(0, k.length() - 6) + ".weight";
        if (k.endsWith(".beta")) k = k.substring(0, k.length() - 5) + ".bias";
        if (k.endsWith("embeddings.position_ids")) return null;        // a buffer, not a weight
        if (k.equals("cls.predictions.decoder.weight")) return null;   // tied to the word embeddings
        if (k.equals("cls.predictions.decoder.bias")) return null;     // tied to cls.predictions.bias
        // BertModel checkpoints (sentence-transformers, our importers) have no "bert." prefix
        if (k.startsWith("embeddings.") || k.startsWith("encoder.") || k.startsWith("pooler.")) return "bert." + k;
        return k;
    }
}
