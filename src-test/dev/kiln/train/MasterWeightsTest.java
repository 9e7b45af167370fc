package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class MasterWeightsTest {
    static float f32(NDArray a, int i) {
        return a.toType(DataType.FLOAT32, false).toFloatArray()[i];
    }

    @Test
    void updatesBelowHalfResolutionAccumulateInTheMaster() {
        // Just below 1.0 the fp16 spacing is 2^-11 ≈ 4.9e-4, so a 1e-4 step rounds back to 1.0 in fp16.
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters params = new Parameters(root.newSubManager(), 0, 0);
            params.create("w", Parameters.Init.ONES, 2);
            try (MasterWeights mw = MasterWeights.castForCompute(params, DataType.FLOAT16);
                 Sgd opt = new Sgd(0, false, 0)) {
                NDArray compute = params.get("w");
                assertEquals(DataType.FLOAT16, compute.getDataType());
                assertEquals(DataType.FLOAT32, mw.masters().get("w").getDataType());
                float[] expectHalf = {1f, 1f, 0.99951171875f, 0.99951171875f};
                float master = 1f;
                for (int s = 0; s < 4; s++) {
                    try (NDManager scope = root.newSubManager()) {
                        Map<String, NDArray> g = new LinkedHashMap<>();
                        g.put("w", scope.create(new float[] {1f, 1f}));
                        opt.step(mw.masters(), g, 1e-4f);
                        mw.copyAllToCompute();
                    }
                    master -= 1e-4f;
                    assertEquals(master, f32(mw.masters().get("w"), 0), 1e-7f, "master after step " + (s + 1));
                    assertEquals(expectHalf[s], f32(params.get("w"), 0), "fp16 weight after step " + (s + 1));
                }
                assertSame(compute, params.get("w"), "updated in place");
            }

            // The same steps applied to the fp16 weight directly never move it.
            try (Sgd opt = new Sgd(0, false, 0)) {
                Parameters half = new Parameters(root.newSubManager(), 0, 0);
                half.create("w", Parameters.Init.ONES, 2);
                half.castAll(DataType.FLOAT16);
                for (int s = 0; s < 4; s++) {
                    try (NDManager scope = root.newSubManager()) {
                        Map<String, NDArray> g = new LinkedHashMap<>();
                        g.put("w", scope.create(new float[] {1f, 1f}).toType(DataType.FLOAT16, false));
                        opt.step(half, g, 1e-4f);
                    }
                }
                assertEquals(1f, f32(half.get("w"), 0));
            }
        }
    }

    @Test
    void unscaleToFloat32() {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters params = new Parameters(root.newSubManager(), 0, 0);
            params.create("w", Parameters.Init.ZEROS, 2);
            try (MasterWeights mw = MasterWeights.castForCompute(params, DataType.FLOAT16);
                 NDManager scope = root.newSubManager()) {
                Map<String, NDArray> g16 = new LinkedHashMap<>();
                g16.put("w", scope.create(new float[] {1024f, -3072f}).toType(DataType.FLOAT16, false));
                Map<String, NDArray> g32 = mw.unscale(g16, 1024, scope);
                assertEquals(DataType.FLOAT32, g32.get("w").getDataType());
                assertArrayEquals(new float[] {1f, -3f}, g32.get("w").toFloatArray());
            }
        }
    }

    @Test
    void stateDictIsTheFloat32MastersAndLoadRefreshesCompute() {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters params = new Parameters(root.newSubManager(), 0, 0);
            params.create("w", Parameters.Init.ZEROS, 2);
            params.get("w").set(new float[] {1.0001f, -2f});
            try (MasterWeights mw = MasterWeights.castForCompute(params, DataType.FLOAT16)) {
                Map<String, HostTensor> sd = mw.stateDict();
                assertEquals(HostTensor.DType.F32, sd.get("w").dtype());
                assertArrayEquals(new float[] {1.0001f, -2f}, sd.get("w").toFloats(), "no fp16 rounding in the checkpoint");
                assertEquals(1f, f32(params.get("w"), 0), "the compute copy is rounded");
                Map<String, HostTensor> next = new LinkedHashMap<>();
                next.put("w", HostTensor.ofFloats(new long[] {2}, new float[] {0.5f, 3f}));
                mw.load(next);
                assertArrayEquals(new float[] {0.5f, 3f}, mw.masters().get("w").toFloatArray());
                assertEquals(3f, f32(params.get("w"), 1));
            }
        }
    }
}
