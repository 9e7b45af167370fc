package dev.kiln.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.io.HfFolder;
import dev.kiln.models.Backbone;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA and bottleneck adapters on the real module trees: identity at init, merge, gradients, target errors. */
@ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class PeftModelTest {
    private static final long[][] IDS = {{101, 7592, 2088, 2003, 1037, 3231, 102, 0}, {101, 2023, 2003, 2204, 102, 0, 0, 0}};
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 0, 0, 0}};

    static PeftSpec lora(int r, double alpha, List<String> globs) {
        PeftSpec s = new PeftSpec();
        s.method = PeftSpec.Method.LORA;
        s.r = r;
        s.alpha = alpha;
        s.globs = globs;
        return s;
    }

    static PeftSpec adapter(String type) {
        PeftSpec s = new PeftSpec();
        s.method = PeftSpec.Method.ADAPTER;
        s.adapterType = type;
        s.reductionFactor = 8;
        return s;
    }

    private static Path gpt2Tiny() {
        return TestSupport.shared("fixtures/gpt2-tiny");
    }

    private static float[] hidden(Backbone b, NDManager m, long[][] ids) {
        try (NDManager s = m.newSubManager()) {
            NDArray mask = s.create(MASK);
            NDArray type = s.zeros(mask.getShape(), DataType.INT64);
            return b.hiddenStates(s.create(ids), type, mask, false).toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    private static long[][] gptIds() {
        return new long[][] {{10, 20, 30, 40, 50, 60, 70, 0}, {5, 6, 7, 8, 9, 0, 0, 0}};
    }

    /** Random values into every lora_B, so the branch does something. */
    private static void randomizeB(PeftModel m, double std) {
        SplittableRandom r = new SplittableRandom(7);
        for (String k : m.addedParameters()) {
            if (!k.endsWith("lora_B.weight") && !k.endsWith("adapter_up.weight")) continue;
            NDArray a = m.backbone().params().get(k);
            float[] v = new float[Math.toIntExact(a.size())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
            a.set(v);
        }
    }

    @Test
    void loraAndAdaptersStartAsTheBaseModel() throws IOException {
        Path miniLm = TinyModels.miniLmFolder();
        for (Path folder : new Path[] {miniLm, gpt2Tiny()}) {
            long[][] ids = folder.equals(miniLm) ? IDS : gptIds();
            for (PeftSpec spec : List.of(lora(8, 16, null), adapter("houlsby"), adapter("pfeiffer"))) {
                try (NDManager m = NDManager.newBaseManager()) {
                    Backbone b = HfFolder.loadBackbone(folder, m, 0f);
                    float[] before = hidden(b, m, ids);
                    PeftModel pm = PeftModel.apply(spec, b);
                    assertTrue(!pm.wrapped().isEmpty());
                    float[] after = hidden(b, m, ids);
                    float d = TestSupport.maxAbsDiff(before, after);
                    assertTrue(d <= 1e-6, folder.getFileName() + " " + spec.method + " " + spec.adapterType + ": " + d);
                }
            }
        }
    }

    @Test
    void defaultTargetsFollowPeft() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel pm = PeftModel.apply(lora(4, 8, null), HfFolder.loadBackbone(TinyModels.miniLmFolder(), m, 0f));
            assertEquals(12, pm.wrapped().size()); // 6 layers × query, value
            assertTrue(pm.wrapped().stream().allMatch(p -> p.endsWith(".query") || p.endsWith(".value")));
            assertTrue(pm.addedParameters().contains("bert.encoder.layer.0.attention.self.query.lora_A.weight"));
            assertEquals(List.of(4L, 384L), List.of(pm.backbone().params().get("bert.encoder.layer.0.attention.self.query.lora_A.weight").getShape().getShape()[0],
                    pm.backbone().params().get("bert.encoder.layer.0.attention.self.query.lora_A.weight").getShape().getShape()[1]));
        }
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel pm = PeftModel.apply(lora(4, 8, null), HfFolder.loadBackbone(gpt2Tiny(), m, 0f));
            assertTrue(pm.wrapped().stream().allMatch(p -> p.endsWith(".attn.c_attn")));
        }
    }

    @Test
    void aPatternThatMatchesNothingListsTheProjections() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Backbone b = HfFolder.loadBackbone(TinyModels.miniLmFolder(), m, 0f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PeftModel.apply(lora(4, 8, List.of("**.attention.self.qeury")), b));
            assertTrue(e.getMessage().contains("qeury") && e.getMessage().contains("bert.encoder.layer.*.attention.self.query"), e.getMessage());
        }
    }

    @Test
    void mergedEqualsUnmerged() throws IOException {
        Path miniLm = TinyModels.miniLmFolder();
        for (Path folder : new Path[] {miniLm, gpt2Tiny()}) {
            long[][] ids = folder.equals(miniLm) ? IDS : gptIds();
            try (NDManager m = NDManager.newBaseManager()) {
                Backbone b = HfFolder.loadBackbone(folder, m, 0f);
                float[] base = hidden(b, m, ids);
                PeftModel pm = PeftModel.apply(lora(8, 16, null), b);
                randomizeB(pm, 0.01); // about the size trained B reaches in a short run
                float[] unmerged = hidden(b, m, ids);
                assertTrue(TestSupport.maxAbsDiff(base, unmerged) > 1e-3, "the LoRA branch changes the output");
                pm.merge();
                float[] merged = hidden(b, m, ids);
                // W + B·A·s rounds once in fp32 where the branch rounds separately; six post-LN layers amplify that
                // to ~1e-5 of MiniLM's hidden-state scale (|h| up to ~10), so the bound is relative to that scale
                float d = TestSupport.maxAbsDiff(unmerged, merged);
                float scale = 0;
                for (float v : unmerged) scale = Math.max(scale, Math.abs(v));
                System.out.println("merged vs unmerged, " + folder.getFileName() + ": max abs diff " + d + ", max |h| " + scale);
                assertTrue(d / Math.max(1, scale) <= 1e-5, folder.getFileName() + ": " + d + " of " + scale);
            }
        }
    }

    /** d(loss)/d(lora_A), d(lora_B) by autograd against central differences, in float64 on the GPT-2 fixture (Conv1D). */
    @Test
    void loraGradientsMatchFiniteDifferences() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Backbone b = HfFolder.loadBackbone(gpt2Tiny(), m, 0f);
            PeftModel pm = PeftModel.apply(lora(2, 4, List.of("transformer.h.0.attn.c_attn")), b);
            randomizeB(pm, 0.1);
            b.params().castAll(DataType.FLOAT64);
            String aKey = "transformer.h.0.attn.c_attn.lora_A.weight";
            String bKey = "transformer.h.0.attn.c_attn.lora_B.weight";
            for (String k : b.params().all().keySet()) b.params().get(k).setRequiresGradient(k.equals(aKey) || k.equals(bKey));
            long[][] ids = gptIds();
            double[] weights = new SplittableRandom(3).doubles(2L * 8 * 64).toArray();
            double[][] analytic = new double[2][];
            try (NDManager s = m.newSubManager(); GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray loss = loss(b, s, ids, weights);
                gc.backward(loss);
                analytic[0] = b.params().get(aKey).getGradient().toDoubleArray();
                analytic[1] = b.params().get(bKey).getGradient().toDoubleArray();
            }
            double worst = 0;
            String[] keys = {aKey, bKey};
            for (int t = 0; t < 2; t++) {
                NDArray p = b.params().get(keys[t]);
                double[] v = p.toDoubleArray();
                for (int i : new int[] {0, 1, 7, v.length / 2, v.length - 1}) {
                    double fd = FiniteDifference.central(p, i, () -> lossValue(b, m, ids, weights));
                    worst = Math.max(worst, Math.abs(fd - analytic[t][i]) / Math.max(1, Math.abs(fd)));
                }
            }
            System.out.println("LoRA gradient vs central differences (float64), worst relative error: " + worst);
            assertTrue(worst < 1e-6, "worst " + worst);
        }
    }

    /**
     * d(loss)/d(adapter_down, adapter_up weights and biases) of a Houlsby adapter (both bottlenecks of layer 0, gelu_new
     * so the check meets no kink) by autograd against central differences, float64, on the GPT-2 fixture.
     */
    @Test
    void adapterGradientsMatchFiniteDifferences() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Backbone b = HfFolder.loadBackbone(gpt2Tiny(), m, 0f);
            PeftSpec spec = adapter("houlsby");
            spec.nonLinearity = "gelu_new";
            spec.globs = List.of("transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj");
            PeftModel pm = PeftModel.apply(spec, b);
            randomizeB(pm, 0.1);
            b.params().castAll(DataType.FLOAT64);
            List<String> keys = new java.util.ArrayList<>(pm.addedParameters());
            assertEquals(8, keys.size(), keys.toString());
            for (String k : b.params().all().keySet()) b.params().get(k).setRequiresGradient(keys.contains(k));
            long[][] ids = gptIds();
            double[] weights = new SplittableRandom(3).doubles(2L * 8 * 64).toArray();
            double[][] analytic = new double[keys.size()][];
            try (NDManager s = m.newSubManager(); GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                gc.backward(loss(b, s, ids, weights));
                for (int t = 0; t < keys.size(); t++) analytic[t] = b.params().get(keys.get(t)).getGradient().toDoubleArray();
            }
            double worst = 0;
            for (int t = 0; t < keys.size(); t++) {
                NDArray p = b.params().get(keys.get(t));
                double[] v = p.toDoubleArray();
                for (int i : new int[] {0, 1, v.length / 2, v.length - 1}) {
                    double fd = FiniteDifference.central(p, i, () -> lossValue(b, m, ids, weights));
                    assertTrue(Math.abs(fd) > 1e-9, keys.get(t) + "[" + i + "] has no effect");
                    worst = Math.max(worst, Math.abs(fd - analytic[t][i]) / Math.max(1, Math.abs(fd)));
                }
            }
            System.out.println("Houlsby adapter gradient vs central differences (float64), worst relative error: " + worst);
            assertTrue(worst < 1e-6, "worst " + worst);
        }
    }

    private static NDArray loss(Backbone b, NDManager s, long[][] ids, double[] w) {
        NDArray mask = s.create(MASK);
        NDArray h = b.hiddenStates(s.create(ids), null, mask, false);
        return h.mul(s.create(w, h.getShape())).sum();
    }

    private static double lossValue(Backbone b, NDManager m, long[][] ids, double[] w) {
        try (NDManager s = m.newSubManager()) {
            return loss(b, s, ids, w).getDouble();
        }
    }
}
