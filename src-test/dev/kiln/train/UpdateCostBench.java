package dev.kiln.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Parameters;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Part o of scripts/bench-throughput (not a unit test): the two training-step costs cut in place, each A/B in one JVM
 * with the sides alternated. AdamW on all-MiniLM-L6-v2's parameters updated whole vs in cache-sized row slices
 * ({@link AdamW#slice}); inverted dropout forward + backward as it was (x·keep, then ·1/(1-p), both tracked) vs
 * now (the scale in the untracked mask), at the shapes of MiniLM 32x64's hidden states and attention probabilities.
 */
public final class UpdateCostBench {
    private UpdateCostBench() {}

    /** The dropout before the scale moved into the mask: the reference side of the A/B. */
    static NDArray dropoutTwoMultiplies(NDArray x, float p) {
        NDArray keep = x.getManager().randomUniform(0f, 1f, x.getShape(), DataType.FLOAT32, x.getDevice()).gte(p);
        return x.mul(keep.toType(x.getDataType(), false)).muli(Functional.scalar(x, 1f / (1f - p)));
    }

    public static JsonObject measure(int reps) throws IOException {
        JsonObject out = new JsonObject();
        try (NDManager root = NDManager.newBaseManager()) {
            BertModel bert = HfFolder.loadBert(ModelZoo.resolve("all-MiniLM-L6-v2"), root, BertModel.Heads.encoderOnly());
            Parameters params = bert.params;
            Map<String, NDArray> grads = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : params.all().entrySet()) {
                grads.put(e.getKey(), root.randomNormal(0, 1e-3f, e.getValue().getShape(), DataType.FLOAT32));
            }
            JsonArray whole = new JsonArray(), sliced = new JsonArray();
            try (AdamW a = new AdamW(0.01); AdamW b = new AdamW(0.01)) {
                a.slice = Long.MAX_VALUE;
                for (int r = 0; r <= reps; r++) { // r 0 warms up (and allocates the moments)
                    long t0 = System.nanoTime();
                    a.step(params, grads, 1e-5f);
                    long t1 = System.nanoTime();
                    b.step(params, grads, 1e-5f);
                    long t2 = System.nanoTime();
                    if (r > 0) {
                        whole.add((t1 - t0) / 1e6);
                        sliced.add((t2 - t1) / 1e6);
                    }
                }
            }
            out.addProperty("adamw_parameters", params.count());
            out.add("adamw_whole_ms", whole);
            out.add("adamw_sliced_ms", sliced);
            JsonArray shapes = new JsonArray();
            for (Shape s : new Shape[] {new Shape(32, 64, 384), new Shape(32, 12, 64, 64)}) {
                JsonArray before = new JsonArray(), after = new JsonArray();
                for (int r = 0; r <= reps; r++) {
                    for (int side = 0; side < 2; side++) {
                        try (NDManager step = root.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray x = step.randomNormal(s);
                            x.setRequiresGradient(true);
                            long t0 = System.nanoTime();
                            NDArray y = side == 0 ? dropoutTwoMultiplies(x, 0.1f) : Functional.dropout(x, 0.1f, true);
                            gc.backward(y.sum());
                            x.getGradient().toFloatArray();
                            if (r > 0) (side == 0 ? before : after).add((System.nanoTime() - t0) / 1e6);
                        }
                    }
                }
                JsonObject d = new JsonObject();
                d.addProperty("shape", s.toString());
                d.add("before_ms", before);
                d.add("after_ms", after);
                shapes.add(d);
            }
            out.add("dropout", shapes);
        }
        return out;
    }
}
