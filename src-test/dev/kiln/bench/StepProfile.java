package dev.kiln.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where one training step's time goes, read from libtorch's profiler trace (DJL's {@code JniUtils.startProfile} /
 * {@code stopProfile}, a Chrome trace of every aten op). Each op's self time (its duration less its children's)
 * goes to a phase and a category:
 * <ul>
 *   <li>phase: backward for ops under an autograd node ({@code autograd::engine::evaluate_function: XBackward0}),
 *       forward for ops before the first of those, optimizer (clipping, AdamW, zeroing) for ops after the last;</li>
 *   <li>category: by the op (forward, optimizer) or by the autograd node it runs for (backward): linear matmuls
 *       ({@code mm}/{@code addmm}), attention matmuls ({@code bmm}), softmax, LayerNorm, GELU, dropout masks
 *       ({@code uniform_} + {@code ge}), copies and layout ({@code copy_}/{@code clone}, transposes made
 *       contiguous), element-wise arithmetic (bias and residual adds, dropout's multiply, scaling), embeddings,
 *       gradient accumulation, norms (global-norm clipping) and the rest.</li>
 * </ul>
 * The profiler adds a few microseconds per op, so small ops weigh a little more here than in an unprofiled step.
 */
final class StepProfile {
    private StepProfile() {}

    private static final String NODE = "autograd::engine::evaluate_function: ";

    record Event(String name, double ts, double dur, long tid) {
        double end() { return ts + dur; }
    }

    /** {"phases": {phase: ms}, "categories": {phase: {category: ms}}, "total_ms": ms} of a trace file. */
    static JsonObject read(Path trace) throws IOException {
        List<Event> ev = events(trace);
        double firstBackward = Double.MAX_VALUE, lastBackward = -1;
        for (Event e : ev) {
            if (e.name().startsWith(NODE)) {
                firstBackward = Math.min(firstBackward, e.ts());
                lastBackward = Math.max(lastBackward, e.end());
            }
        }
        double fb = firstBackward, lb = lastBackward;
        Map<String, Map<String, Double>> cat = new LinkedHashMap<>();
        for (String p : List.of("forward", "backward", "optimizer")) cat.put(p, new LinkedHashMap<>());
        selfTimes(ev, (e, chain, self) -> add(cat, e, chain, self, fb, lb));
        JsonObject out = new JsonObject();
        JsonObject phases = new JsonObject(), cats = new JsonObject();
        double total = 0;
        for (var p : cat.entrySet()) {
            double sum = p.getValue().values().stream().mapToDouble(Double::doubleValue).sum();
            phases.addProperty(p.getKey(), sum / 1e3);
            total += sum;
            JsonObject c = new JsonObject();
            p.getValue().entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                    .forEach(x -> c.addProperty(x.getKey(), x.getValue() / 1e3));
            cats.add(p.getKey(), c);
        }
        out.add("phases", phases);
        out.add("categories", cats);
        out.addProperty("total_ms", total / 1e3);
        return out;
    }

    /** Self time in ms of every op name in a trace (a forward-only pass: inference), largest first. */
    static Map<String, Double> byOp(Path trace) throws IOException {
        Map<String, Double> ms = new java.util.HashMap<>();
        selfTimes(events(trace), (e, chain, self) -> ms.merge(e.name(), self / 1e3, Double::sum));
        Map<String, Double> out = new LinkedHashMap<>();
        ms.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).forEach(x -> out.put(x.getKey(), x.getValue()));
        return out;
    }

    /** The complete ("X") events of a Chrome trace, by thread and start time, enclosing events first. */
    private static List<Event> events(Path trace) throws IOException {
        JsonElement root = JsonParser.parseString(Files.readString(trace));
        JsonArray events = root.isJsonObject() ? root.getAsJsonObject().getAsJsonArray("traceEvents") : root.getAsJsonArray();
        List<Event> ev = new ArrayList<>();
        for (JsonElement e : events) {
            JsonObject o = e.getAsJsonObject();
            if (!o.has("ph") || !o.get("ph").getAsString().equals("X")) continue;
            long tid = o.has("tid") && o.get("tid").isJsonPrimitive() && o.get("tid").getAsJsonPrimitive().isNumber() ? o.get("tid").getAsLong() : 0;
            ev.add(new Event(o.get("name").getAsString(), o.get("ts").getAsDouble(), o.get("dur").getAsDouble(), tid));
        }
        ev.sort(Comparator.comparingLong(Event::tid).thenComparingDouble(Event::ts).thenComparingDouble(e -> -e.dur()));
        return ev;
    }

    interface SelfTime {
        /** {@code ancestors}: the enclosing events, innermost first; {@code self} in µs. */
        void accept(Event e, List<Event> ancestors, double self);
    }

    /** Self time = duration less the children's: walks each thread's events in start order with a stack. */
    private static void selfTimes(List<Event> ev, SelfTime sink) {
        Deque<Event> stack = new ArrayDeque<>();
        Deque<Double> childTime = new ArrayDeque<>();
        List<Event> chain = new ArrayList<>();
        for (int i = 0; i <= ev.size(); i++) {
            Event e = i < ev.size() ? ev.get(i) : null;
            while (!stack.isEmpty() && (e == null || e.tid() != stack.peek().tid() || stack.peek().end() <= e.ts())) {
                Event done = stack.pop();
                double self = done.dur() - childTime.pop();
                chain.clear();
                chain.addAll(stack);
                sink.accept(done, chain, self);
            }
            if (e == null) break;
            if (!stack.isEmpty()) childTime.push(childTime.pop() + e.dur());
            stack.push(e);
            childTime.push(0.0);
        }
    }

    /** {@code ancestors}: the enclosing events, innermost first. */
    private static void add(Map<String, Map<String, Double>> cat, Event e, List<Event> ancestors, double self,
                            double firstBackward, double lastBackward) {
        if (self <= 0) return;
        String node = e.name().startsWith(NODE) ? e.name().substring(NODE.length()) : null;
        for (Event a : ancestors) if (node == null && a.name().startsWith(NODE)) node = a.name().substring(NODE.length());
        String phase = node != null ? "backward" : e.ts() < firstBackward ? "forward" : e.ts() >= lastBackward ? "optimizer" : "backward";
        String c = node != null ? backwardCategory(node) : forwardCategory(e.name());
        if (phase.equals("optimizer") && c.equals("element-wise")) c = "AdamW update (element-wise)";
        cat.get(phase).merge(c, self, Double::sum);
    }

    static String forwardCategory(String op) {
        switch (op) {
            case "aten::mm": case "aten::addmm": return "linear matmuls";
            case "aten::bmm": return "attention matmuls";
            case "aten::_softmax": case "aten::softmax": case "aten::_log_softmax": case "aten::log_softmax": return "softmax";
            case "aten::native_layer_norm": case "aten::layer_norm": return "LayerNorm";
            case "aten::gelu": case "aten::tanh": return "GELU";
            case "aten::uniform_": case "aten::ge": case "aten::bernoulli_": case "aten::dropout": return "dropout masks";
            case "aten::copy_": case "aten::clone": case "aten::contiguous": case "aten::_to_copy": return "copies and layout";
            case "aten::embedding": case "aten::index_select": case "aten::index": return "embeddings";
            case "aten::norm": case "aten::linalg_vector_norm": return "norms (clipping)";
            case "aten::mul": case "aten::mul_": case "aten::add": case "aten::add_": case "aten::sub": case "aten::sub_":
            case "aten::div": case "aten::div_": case "aten::sqrt": case "aten::addcmul_": case "aten::addcdiv_":
            case "aten::neg": case "aten::maximum": case "aten::sum": case "aten::fill_": case "aten::zero_": case "aten::rsub":
                return "element-wise";
            default: return "other (views, allocation, bookkeeping)";
        }
    }

    static String backwardCategory(String node) {
        if (node.startsWith("MmBackward") || node.startsWith("AddmmBackward")) return "linear matmuls";
        if (node.startsWith("BmmBackward")) return "attention matmuls";
        if (node.startsWith("SoftmaxBackward") || node.startsWith("LogSoftmaxBackward")) return "softmax";
        if (node.startsWith("NativeLayerNormBackward")) return "LayerNorm";
        if (node.startsWith("GeluBackward") || node.startsWith("TanhBackward")) return "GELU";
        if (node.startsWith("EmbeddingBackward")) return "embeddings";
        if (node.contains("AccumulateGrad")) return "gradient accumulation";
        if (node.startsWith("CloneBackward") || node.startsWith("PermuteBackward") || node.startsWith("TransposeBackward")
                || node.startsWith("ViewBackward") || node.startsWith("UnsafeViewBackward") || node.startsWith("ExpandBackward")
                || node.startsWith("TBackward") || node.startsWith("ReshapeAliasBackward")) return "copies and layout";
        if (node.startsWith("MulBackward") || node.startsWith("AddBackward") || node.startsWith("DivBackward")
                || node.startsWith("SubBackward") || node.startsWith("SumBackward") || node.startsWith("MeanBackward")) return "element-wise";
        return "other (views, allocation, bookkeeping)";
    }
}
