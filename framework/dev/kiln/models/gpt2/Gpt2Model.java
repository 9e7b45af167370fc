package dev.kiln.models.gpt2;

import dev.kiln.models.Backbone;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.kiln.nn.Conv1D;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.Functional;
import dev.kiln.nn.LayerNorm;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 (Radford et al. 2019): a pre-LN causal Transformer decoder with a language-model head tied
 * to the token embeddings, and a key/value cache for incremental decoding.
 *
 * <p>The model is the root of a module tree laid out as HF {@code GPT2LMHeadModel}: {@code transformer} (wte, wpe,
 * h.N, ln_f); task heads attach beside it ({@code score}, {@code classifier}, {@code qa_outputs}). Parameter
 * paths are the HF keys ({@code transformer.h.0.attn.c_attn.weight}, ...); projections are {@link Conv1D},
 * stored (in, out) exactly as in the checkpoint.
 */
public final class Gpt2Model extends Module implements Backbone {
    public final Gpt2Config config;
    public final Parameters params;
    /** {@code transformer}: the pretrained decoder; everything else is a head. */
    public final Module transformer;
    public final Embedding wte;
    public final Embedding wpe;
    public final List<Block> h = new ArrayList<>();
    public final LayerNorm lnF;
    /** Set by the loader: which checkpoint keys were used, missing or unexpected. */
    public Parameters.LoadReport loadReport;

    public Gpt2Model(Gpt2Config config, Parameters params) {
        super(params);
        this.config = config;
        this.params = params;
        transformer = new Module(this, "transformer");
        wte = new Embedding(transformer, "wte", config.vocabSize, config.nEmbd);
        wpe = new Embedding(transformer, "wpe", config.nPositions, config.nEmbd);
        Module blocks = new Module(transformer, "h");
        for (int i = 0; i < config.nLayer; i++) h.add(new Block(blocks, String.valueOf(i), config));
        lnF = new LayerNorm(transformer, "ln_f", config.nEmbd, config.layerNormEpsilon);
    }

    /** The self-attention cache of incremental decoding ({@link dev.kiln.nn.KvCache}), one slot per layer. */
    public static final class KvCache extends dev.kiln.nn.KvCache {
        public KvCache(NDManager parent, int layers) {
            super(parent, layers);
        }
    }

    public KvCache newCache(NDManager manager) {
        return new KvCache(manager, config.nLayer);
    }

    /**
     * Final hidden states [B, T, C] (after ln_f).
     *
     * @param inputIds      [B, T] int64 — the new tokens only when a cache is given
     * @param attentionMask [B, T_past + T] 1/0, or null (no padding)
     * @param positionIds   [B, T] or null (T_past .. T_past+T-1)
     * @param cache         null for a full pass; otherwise appended to
     */
    public NDArray forward(NDArray inputIds, NDArray attentionMask, NDArray positionIds, KvCache cache, boolean training) {
        NDManager m = inputIds.getManager();
        long t = inputIds.getShape().get(1);
        long past = cache == null ? 0 : cache.length();
        if (past + t > config.nPositions) {
            throw new IllegalArgumentException("sequence length " + (past + t) + " exceeds n_positions " + config.nPositions);
        }
        if (positionIds == null) {
            positionIds = m.arange(past, past + t, 1, DataType.INT64, inputIds.getDevice()).reshape(1, t);
        }
        NDArray x = Functional.dropout(wte.forward(inputIds).addi(wpe.forward(positionIds)), config.embdPdrop, training);
        NDArray mask = causalMask(m, t, past, attentionMask, x.getDataType());
        for (int i = 0; i < h.size(); i++) x = h.get(i).forward(x, mask, cache, i, training);
        return lnF.forward(x);
    }

    /** Logits over the vocabulary, [B, T, V], through the LM head tied to wte. */
    public NDArray logits(NDArray hidden) {
        return ai.djl.nn.core.Linear.linear(hidden, wte.table()).singletonOrThrow();
    }

    public NDArray forwardLogits(NDArray inputIds, KvCache cache) {
        return logits(forward(inputIds, null, null, cache, false));
    }

    /** Additive mask [B or 1, 1, T, T_past + T]: query i sees keys 0 .. T_past + i, and no padding. */
    static NDArray causalMask(NDManager m, long t, long past, NDArray attentionMask, DataType type) {
        long total = past + t;
        NDArray qPos = m.arange(past, total, 1, DataType.INT64).reshape(t, 1);
        NDArray kPos = m.arange(0, total, 1, DataType.INT64).reshape(1, total);
        NDArray blocked = kPos.gt(qPos).toType(type, false).muli(Functional.MASK_VALUE).reshape(1, 1, t, total);
        if (attentionMask != null) {
            blocked = blocked.add(Functional.paddingMask(attentionMask, type));
        }
        return blocked;
    }

    /** Causal self-attention with the fused c_attn projection (q, k, v side by side). */
    public static final class Attention extends Module {
        final Conv1D cAttn;
        final Conv1D cProj;
        final int heads;
        final long embd;
        final float attnDrop;
        final float residDrop;
        final Gpt2Config config;

        Attention(Module parent, String name, Gpt2Config c) {
            super(parent, name);
            cAttn = new Conv1D(this, "c_attn", c.nEmbd, 3L * c.nEmbd);
            cProj = new Conv1D(this, "c_proj", c.nEmbd, c.nEmbd);
            heads = c.nHead;
            embd = c.nEmbd;
            attnDrop = c.attnPdrop;
            residDrop = c.residPdrop;
            config = c;
        }

        NDArray forward(NDArray x, NDArray mask, KvCache cache, int layer, boolean training) {
            NDArray qkv = cAttn.forward(x);
            NDArray q = Functional.splitHeads(qkv.get(":, :, 0:" + embd), heads);
            NDArray k = Functional.splitHeads(qkv.get(":, :, " + embd + ":" + 2 * embd), heads);
            NDArray v = Functional.splitHeads(qkv.get(":, :, " + 2 * embd + ":"), heads);
            if (cache != null) {
                NDArray[] kv = cache.append(layer, k, v);
                k = kv[0];
                v = kv[1];
            }
            NDArray a = Functional.mergeHeads(Functional.attention(q, k, v, mask, config.attentionScale(layer), attnDrop, training));
            return Functional.dropout(cProj.forward(a), residDrop, training);
        }
    }

    /** Position-wise MLP: c_fc, gelu_new, c_proj. */
    public static final class Mlp extends Module {
        final Conv1D cFc;
        final Conv1D cProj;
        final String act;
        final float drop;

        Mlp(Module parent, String name, Gpt2Config c) {
            super(parent, name);
            cFc = new Conv1D(this, "c_fc", c.nEmbd, c.innerSize());
            cProj = new Conv1D(this, "c_proj", c.innerSize(), c.nEmbd);
            act = c.activationFunction;
            drop = c.residPdrop;
        }

        NDArray forward(NDArray x) {
            return cProj.forward(Functional.activation(act, cFc.forward(x)));
        }
    }

    /** Pre-LN block: x + Attn(LN1(x)), then + MLP(LN2(·)). */
    /**
     * Training FLOPs (forward and backward) of the causal LM on {@code rows} sequences padded to {@code width} whose
     * next-token loss is taken at {@code targets} positions (a summary's, not its prompt's): 6 per parameter the blocks
     * and ln_f meet at every position, 6 per wte entry at each target (the tied LM head runs there only), 12·d per
     * query-key pair each layer scores (the causal half is masked, not skipped); wte and wpe are looked up.
     */
    public double lmTrainingFlops(long rows, long width, long targets) {
        long body = lnF.matmulParameterCount();
        for (Block b : h) body += b.matmulParameterCount();
        double positions = (double) rows * width;
        return 6.0 * body * positions + 12.0 * config.nEmbd * h.size() * width * positions + 6.0 * wte.parameterCount() * targets;
    }

    public static final class Block extends Module {
        final LayerNorm ln1;
        final Attention attn;
        final LayerNorm ln2;
        final Mlp mlp;

        Block(Module parent, String name, Gpt2Config c) {
            super(parent, name);
            ln1 = new LayerNorm(this, "ln_1", c.nEmbd, c.layerNormEpsilon);
            attn = new Attention(this, "attn", c);
            ln2 = new LayerNorm(this, "ln_2", c.nEmbd, c.layerNormEpsilon);
            mlp = new Mlp(this, "mlp", c);
        }

        NDArray forward(NDArray x, NDArray mask, KvCache cache, int layer, boolean training) {
            NDArray a = x.add(attn.forward(ln1.forward(x), mask, cache, layer, training));
            return a.add(Functional.dropout(mlp.forward(ln2.forward(a)), mlp.drop, training));
        }
    }

    @Override public dev.kiln.models.Architecture architecture() { return Gpt2Architecture.INSTANCE; }
    @Override public Parameters params() { return params; }
    @Override public Module root() { return this; }
    @Override public Module body() { return transformer; }
    @Override public List<Module> embeddingModules() { return List.of(wte, wpe); }
    @Override public List<Block> layerModules() { return h; }
    @Override public int hiddenSize() { return config.nEmbd; }
    @Override public int numLayers() { return config.nLayer; }
    @Override public int maxPositions() { return config.nPositions; }
    @Override public float hiddenDropout() { return config.residPdrop; }

    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        return forward(ids, attentionMask, null, null, training);
    }

    @Override
    public NDArray sequenceVector(NDArray hidden, NDArray attentionMask, String pooling) {
        switch (pooling) {
            case "last": return dev.kiln.nn.Pooling.lastToken(hidden, attentionMask);
            case "mean": return dev.kiln.nn.Pooling.mean(hidden, attentionMask);
            default: throw new IllegalArgumentException("pooling '" + pooling + "' for GPT-2 (expected last or mean)");
        }
    }

    @Override
    public com.google.gson.JsonObject configJson() {
        return config.toJson();
    }

    /** Maps a checkpoint key to our parameter name, or null for buffers and the tied LM head. */
    public static String mapCheckpointKey(String key) {
        if (key.equals("lm_head.weight")) return null;                          // tied to wte
        if (key.endsWith(".attn.bias") || key.endsWith(".attn.masked_bias")) return null;  // causal-mask buffers
        // GPT2Model checkpoints have no "transformer." prefix
        if (key.startsWith("wte.") || key.startsWith("wpe.") || key.startsWith("h.") || key.startsWith("ln_f.")) {
            return "transformer." + key;
        }
        return key;
    }
}
