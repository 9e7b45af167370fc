package dev.kiln.models;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Everything Kiln knows about one model architecture, in one place: how its config.json is read, how its
 * backbone is built and loaded, how checkpoint keys map to parameter paths, where its special tokens go, and
 * how its task heads are named in HF. Found by config.json's {@code model_type} through {@link Architectures}
 * (registered in {@code framework/META-INF/services/dev.kiln.models.Architecture}); nothing outside an
 * architecture's package reasons about which architecture a folder holds.
 *
 * <p>An architecture need not be a HF one: {@link #hfClass} may be null for every head kind, and then a
 * folder names no {@code architectures} class (see docs/export.md).
 */
public interface Architecture {

    /** The task heads Kiln attaches, by what HF calls their class family. */
    enum HeadKind {
        /** No head: the folder is the base model (Kiln's own head, if any, in kiln_head.safetensors). */
        BASE,
        /** One vector per sequence (pooled) → labels. */
        SEQUENCE_CLASSIFICATION,
        /** Labels on every token. */
        TOKEN_CLASSIFICATION,
        /** Start and end logits on every token. */
        QUESTION_ANSWERING
    }

    /** config.json's {@code model_type}; the registry key ("bert", "gpt2"). */
    String modelType();

    /** For messages ("BERT", "GPT-2"). */
    String displayName();

    /**
     * Whether a config.json without {@code model_type} (old or hand-written folders) is this architecture's,
     * judged by its own fields; false by default.
     */
    default boolean recognizes(JsonObject config) {
        return false;
    }

    /**
     * The backbone for a task: encoder or decoder with what a task head needs, loaded strictly from
     * {@code dir} ({@link HfFolder.Strictness}); {@code dropout} (nullable) replaces every dropout
     * probability of the config. A config.json field the architecture does not implement, or a value it
     * cannot honour, is a one-line error naming the file and field.
     */
    Backbone loadBackbone(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness) throws IOException;

    /** config.json fields that set every dropout probability of this architecture to {@code p}. */
    JsonObject dropoutOverride(Number p);

    /** The parameter path a checkpoint key loads into, or null for keys deliberately not loaded (buffers, tied weights). */
    String mapCheckpointKey(String key);

    /** Where this architecture wants special tokens around one text and a pair, for {@code tok}'s ids. */
    InputTemplate template(Tokenizer tok);

    /** Pooling a sequence-level head uses unless the config says otherwise ("cls", "last", "mean"). */
    String defaultPooling();

    /**
     * The HF class that computes what Kiln's {@code kind} head computes on {@code backbone} (for
     * {@link HeadKind#SEQUENCE_CLASSIFICATION}, with {@code pooling}), or null when none does; then the folder
     * is saved as the {@link HeadKind#BASE} class with Kiln's head beside it. {@code pooling} may be null for
     * other kinds.
     */
    String hfClass(HeadKind kind, Backbone backbone, String pooling);

    /** The head module's name under the model root, as the HF class names it ("classifier", "score", "qa_outputs"). */
    String headName(HeadKind kind);

    /** Whether the head's linear layer has a bias (GPT-2's {@code score} has none). */
    default boolean headBias(HeadKind kind) {
        return true;
    }

    /** Parameter-path prefix of a {@code kind} head ({@link #headName} + "."). */
    default String headPrefix(HeadKind kind) {
        return headName(kind) + ".";
    }

    /**
     * Adds the config.json fields this architecture's HF task classes need besides the backbone's own
     * (GPT-2: {@code pad_token_id}, by which HF finds the last real token). Nothing by default.
     */
    default void addTaskConfig(JsonObject config, Tokenizer tok) {}

    /**
     * HF PEFT's default LoRA targets for this architecture (its TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING),
     * as module-path globs; empty when PEFT has none, and then a run must name its targets.
     */
    default java.util.List<String> loraTargets() {
        return java.util.List.of();
    }

    /**
     * Where bottleneck adapters go, as module-path globs of output projections: after the attention block's
     * and the feed-forward block's (Houlsby), or the feed-forward block's only (Pfeiffer); empty when unknown.
     */
    default java.util.List<String> adapterSites(boolean houlsby) {
        return java.util.List.of();
    }

    /** The folder's tokenizer, carrying this architecture's {@link #template}. */
    default Tokenizer loadTokenizer(Path dir) throws IOException {
        Tokenizer tok = Tokenizer.load(dir);
        try {
            return tok.useTemplate(template(tok));
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }
}
