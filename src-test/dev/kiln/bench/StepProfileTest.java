package dev.kiln.bench;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** StepProfile's attribution on a hand-written trace: self times, phases from autograd nodes, categories. */
class StepProfileTest {
    static String x(String name, double ts, double dur) {
        return "{\"ph\": \"X\", \"name\": \"" + name + "\", \"ts\": " + ts + ", \"dur\": " + dur + ", \"tid\": 1, \"pid\": \"CPU\"}";
    }

    @Test
    void selfTimeGoesToPhaseAndCategory(@TempDir Path dir) throws Exception {
        String trace = "[" + String.join(",",
                // forward: matmul 100 wrapping mm 80 (so 20 self in matmul: "other"), a dropout mask, softmax
                x("aten::matmul", 0, 100), x("aten::mm", 10, 80), x("aten::uniform_", 100, 30), x("aten::_softmax", 130, 10),
                // backward: an autograd node 50 holding mm 40 (10 self on the node itself), a GELU node holding gelu_backward
                x("autograd::engine::evaluate_function: MmBackward0", 200, 50), x("aten::mm", 205, 40),
                x("autograd::engine::evaluate_function: GeluBackward0", 260, 20), x("aten::gelu_backward", 262, 15),
                // after the last node: the optimizer
                x("aten::mul_", 300, 25), x("aten::linalg_vector_norm", 330, 5),
                "{\"ph\": \"i\", \"name\": \"instant\", \"ts\": 1}") + "]";
        Path f = dir.resolve("trace.json");
        Files.writeString(f, trace);
        JsonObject p = StepProfile.read(f);
        JsonObject ph = p.getAsJsonObject("phases"), c = p.getAsJsonObject("categories");
        assertEquals(0.140, ph.get("forward").getAsDouble(), 1e-9);   // ms: 100 + 30 + 10 us
        assertEquals(0.070, ph.get("backward").getAsDouble(), 1e-9);  // 50 + 20
        assertEquals(0.030, ph.get("optimizer").getAsDouble(), 1e-9); // 25 + 5
        assertEquals(0.240, p.get("total_ms").getAsDouble(), 1e-9);
        JsonObject fw = c.getAsJsonObject("forward"), bw = c.getAsJsonObject("backward"), opt = c.getAsJsonObject("optimizer");
        assertEquals(0.080, fw.get("linear matmuls").getAsDouble(), 1e-9);
        assertEquals(0.020, fw.get("other (views, allocation, bookkeeping)").getAsDouble(), 1e-9);
        assertEquals(0.030, fw.get("dropout masks").getAsDouble(), 1e-9);
        assertEquals(0.010, fw.get("softmax").getAsDouble(), 1e-9);
        assertEquals(0.050, bw.get("linear matmuls").getAsDouble(), 1e-9); // the node's own 10 and its mm's 40
        assertEquals(0.020, bw.get("GELU").getAsDouble(), 1e-9);
        assertEquals(0.025, opt.get("AdamW update (element-wise)").getAsDouble(), 1e-9);
        assertEquals(0.005, opt.get("norms (clipping)").getAsDouble(), 1e-9);
        assertFalse(bw.has("element-wise"));
    }
}
