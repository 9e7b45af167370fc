package dev.kiln.models.classic;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
import dev.kiln.models.Backbone;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The classic models as {@link Architecture}s, one registered subclass per {@code model_type}: no HF class for
 * any head (their folders name no {@code architectures} and keep the head in kiln_head.safetensors), keys as
 * saved, their own pooling, and a single {@code dropout} field.
 */
public abstract class ClassicArchitecture implements Architecture {
    private final String type;
    private final String display;

    ClassicArchitecture(String type, String display) {
        this.type = type;
        this.display = display;
    }

    public static final class MlpArchitecture extends ClassicArchitecture {
        public MlpArchitecture() { super(Mlp.TYPE, "MLP"); }
    }

    public static final class TextCnnArchitecture extends ClassicArchitecture {
        public TextCnnArchitecture() { super(TextCnn.TYPE, "TextCNN"); }
    }

    public static final class BiLstmArchitecture extends ClassicArchitecture {
        public BiLstmArchitecture() { super(BiLstm.TYPE, "BiLSTM"); }
    }

    @Override public String modelType() { return type; }
    @Override public String displayName() { return display; }

    @Override
    public Backbone loadBackbone(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness) throws IOException {
        return ClassicModels.load(dir, manager, dropout, strictness);
    }

    @Override
    public JsonObject dropoutOverride(Number p) {
        JsonObject o = new JsonObject();
        o.addProperty("dropout", p);
        return o;
    }

    @Override
    public String mapCheckpointKey(String key) {
        return key;
    }

    /**
     * A vocabulary with [CLS] and [SEP] (the word vocabularies Kiln builds, a zoo WordPiece tokenizer) is laid out
     * as BERT lays it out, which is how these models were trained; any other tokenizer as its own
     * tokenizer.json says.
     */
    @Override
    public InputTemplate template(Tokenizer tok) {
        boolean specials = tok.clsId() != null && tok.sepId() != null && tok.clsId() >= 0 && tok.sepId() >= 0;
        return specials ? Architectures.forType("bert").template(tok) : InputTemplate.of(tok);
    }

    /** "cls" stands for the model's own pooling (max over time, final LSTM states, mean then layers). */
    @Override
    public String defaultPooling() {
        return "cls";
    }

    @Override
    public String hfClass(HeadKind kind, Backbone backbone, String pooling) {
        return null; // not HF classes: folders name none
    }

    @Override
    public String headName(HeadKind kind) {
        return kind == HeadKind.QUESTION_ANSWERING ? "qa_outputs" : "classifier";
    }
}
