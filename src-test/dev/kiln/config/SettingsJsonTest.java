package dev.kiln.config;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.annotations.SerializedName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What kiln_task.json holds must read back in later versions: settings keep the config's snake_case keys, a
 * renamed field keeps its old key, training-only fields stay out, and a folder written before a field
 * existed gets the field's default.
 */
class SettingsJsonTest {
    record Data(String format, @SerializedName("encoding") String charset, int tagColumn, String textPairField) {}

    static final class Windows {
        public int maxLength = 384;
        public int docStride = 128;
        public int evalBatchSize = 64;
        public transient float labelSmoothing;
    }

    @Test
    void recordKeysAreTheConfigsSnakeCaseAndNullsAreLeftOut() {
        Data d = new Data("conll", "utf-8", 3, null);
        JsonObject j = SettingsJson.toJson(d);
        assertEquals("{\"format\":\"conll\",\"encoding\":\"utf-8\",\"tag_column\":3}", j.toString());
        assertEquals(d, SettingsJson.fromJson(j, Data.class));
    }

    @Test
    void transientFieldsStayOutAndAbsentKeysKeepDefaults() {
        Windows w = new Windows();
        w.maxLength = 256;
        w.labelSmoothing = 0.1f;
        assertEquals("{\"max_length\":256,\"doc_stride\":128,\"eval_batch_size\":64}", SettingsJson.toJson(w).toString());
        // an older folder: no eval_batch_size, plus keys of the surrounding kiln_task.json
        JsonObject old = JsonParser.parseString("{\"task\":\"qa\",\"max_length\":200,\"doc_stride\":50}").getAsJsonObject();
        Windows r = SettingsJson.fromJson(old, Windows.class);
        assertEquals(200, r.maxLength);
        assertEquals(50, r.docStride);
        assertEquals(64, r.evalBatchSize);
        assertEquals(0f, r.labelSmoothing);
    }
}
