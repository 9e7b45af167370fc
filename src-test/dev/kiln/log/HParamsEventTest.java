package dev.kiln.log;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HParams summaries read back with a decoder written from TensorBoard's protos (plugin_data.proto, api.proto,
 * struct.proto, summary.proto field numbers), independent of the writer's encoding code.
 */
public class HParamsEventTest {
    @TempDir
    Path tmp;

    /** One HParams plugin summary: its tag and the decoded HParamsPluginData. */
    public record PluginValue(String tag, int version, Map<String, Object> hparams, String modelUri, double startTime,
                              Integer endStatus, double endTime) {}

    /** Every HParams plugin value in an event file, in order. */
    public static List<PluginValue> hparamsValues(Path eventFile) throws IOException {
        List<PluginValue> out = new ArrayList<>();
        for (byte[] record : TensorBoardWriterTest.records(eventFile)) {
            CodedInputStream ev = CodedInputStream.newInstance(record);
            for (int t; (t = ev.readTag()) != 0; ) {
                if (WireFormat.getTagFieldNumber(t) != 5) { ev.skipField(t); continue; }        // Event.summary
                CodedInputStream summary = CodedInputStream.newInstance(ev.readByteArray());
                for (int s; (s = summary.readTag()) != 0; ) {
                    if (WireFormat.getTagFieldNumber(s) != 1) { summary.skipField(s); continue; } // Summary.value
                    PluginValue v = value(summary.readByteArray());
                    if (v != null) out.add(v);
                }
            }
        }
        return out;
    }

    private static PluginValue value(byte[] bytes) throws IOException {
        CodedInputStream v = CodedInputStream.newInstance(bytes);
        String tag = null;
        byte[] content = null;
        String plugin = null;
        for (int t; (t = v.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> tag = v.readString();                                                  // Value.tag
                case 9 -> {                                                                     // Value.metadata
                    CodedInputStream md = CodedInputStream.newInstance(v.readByteArray());
                    for (int m; (m = md.readTag()) != 0; ) {
                        if (WireFormat.getTagFieldNumber(m) != 1) { md.skipField(m); continue; } // SummaryMetadata.plugin_data
                        CodedInputStream pd = CodedInputStream.newInstance(md.readByteArray());
                        for (int p; (p = pd.readTag()) != 0; ) {
                            switch (WireFormat.getTagFieldNumber(p)) {
                                case 1 -> plugin = pd.readString();                              // PluginData.plugin_name
                                case 2 -> content = pd.readByteArray();                          // PluginData.content
                                default -> pd.skipField(p);
                            }
                        }
                    }
                }
                default -> v.skipField(t);
            }
        }
        if (!"hparams".equals(plugin)) return null;
        int version = 0;
        Map<String, Object> hparams = new LinkedHashMap<>();
        String uri = null;
        double start = Double.NaN, end = Double.NaN;
        Integer status = null;
        CodedInputStream d = CodedInputStream.newInstance(content);                             // HParamsPluginData
        for (int t; (t = d.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> version = d.readInt32();
                case 3 -> {                                                                     // session_start_info
                    CodedInputStream si = CodedInputStream.newInstance(d.readByteArray());
                    for (int f; (f = si.readTag()) != 0; ) {
                        switch (WireFormat.getTagFieldNumber(f)) {
                            case 1 -> {                                                         // map<string, Value> entry
                                CodedInputStream e = CodedInputStream.newInstance(si.readByteArray());
                                String key = null;
                                Object val = null;
                                for (int g; (g = e.readTag()) != 0; ) {
                                    if (WireFormat.getTagFieldNumber(g) == 1) key = e.readString();
                                    else if (WireFormat.getTagFieldNumber(g) == 2) val = protobufValue(e.readByteArray());
                                    else e.skipField(g);
                                }
                                hparams.put(key, val);
                            }
                            case 2 -> uri = si.readString();
                            case 5 -> start = si.readDouble();
                            default -> si.skipField(f);
                        }
                    }
                }
                case 4 -> {                                                                     // session_end_info
                    CodedInputStream ei = CodedInputStream.newInstance(d.readByteArray());
                    status = 0;
                    for (int f; (f = ei.readTag()) != 0; ) {
                        switch (WireFormat.getTagFieldNumber(f)) {
                            case 1 -> status = ei.readEnum();
                            case 2 -> end = ei.readDouble();
                            default -> ei.skipField(f);
                        }
                    }
                }
                default -> d.skipField(t);
            }
        }
        return new PluginValue(tag, version, hparams, uri, start, status, end);
    }

    /** google.protobuf.Value: number_value 2 (double), string_value 3, bool_value 4. */
    private static Object protobufValue(byte[] bytes) throws IOException {
        CodedInputStream v = CodedInputStream.newInstance(bytes);
        Object out = null;
        for (int t; (t = v.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(t)) {
                case 2 -> {
                    assertEquals(WireFormat.WIRETYPE_FIXED64, WireFormat.getTagWireType(t), "number_value is a double");
                    out = v.readDouble();
                }
                case 3 -> out = v.readString();
                case 4 -> out = v.readBool();
                default -> v.skipField(t);
            }
        }
        return out;
    }

    @Test
    void sessionStartAndEndReadBack() throws IOException {
        Map<String, Object> hp = new LinkedHashMap<>();
        hp.put("optimizer.lr", 3e-5);
        hp.put("training.batch_size", 16);
        hp.put("model.name", "all-MiniLM-L6-v2");
        hp.put("training.eval_each_epoch", true);
        hp.put("task.pooling", null); // left out
        double before = System.currentTimeMillis() / 1000.0;
        try (TensorBoardWriter w = new TensorBoardWriter(tmp)) {
            w.hparams(hp, "/runs/a");
            w.scalars(10, Map.of("eval/accuracy", 0.9));
            w.hparamsEnd(TensorBoardWriter.STATUS_SUCCESS);
        }
        double after = System.currentTimeMillis() / 1000.0 + 1;
        Path file = TensorBoardWriterTest.onlyEventFile(tmp);
        List<PluginValue> vs = hparamsValues(file);
        assertEquals(2, vs.size(), vs.toString());
        PluginValue start = vs.get(0);
        assertEquals("_hparams_/session_start_info", start.tag());
        assertEquals(0, start.version(), "PLUGIN_DATA_VERSION");
        assertEquals(Map.of("optimizer.lr", 3e-5, "training.batch_size", 16.0, "model.name", "all-MiniLM-L6-v2",
                "training.eval_each_epoch", true), start.hparams());
        assertEquals("/runs/a", start.modelUri());
        assertTrue(start.startTime() >= before && start.startTime() <= after, "start_time_secs " + start.startTime());
        PluginValue end = vs.get(1);
        assertEquals("_hparams_/session_end_info", end.tag());
        assertEquals(1, end.endStatus(), "STATUS_SUCCESS");
        assertTrue(end.endTime() >= start.startTime() && end.endTime() <= after);
        // the scalars in between are untouched
        List<TensorBoardWriterTest.Event> events = TensorBoardWriterTest.events(file);
        assertNotNull(events.stream().filter(e -> e.step() == 10).findFirst().orElse(null));
        assertEquals(0.9f, events.stream().filter(e -> e.step() == 10).findFirst().get().values().get(0).simple());
    }
}
