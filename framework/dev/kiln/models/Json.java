package dev.kiln.models;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Small helpers for reading HF config.json files with defaults. */
final class Json {
    private Json() {}

    static int getInt(JsonObject o, String k, int dflt) {
        JsonElement e = o.get(k);
        return e == null || e.isJsonNull() ? dflt : e.getAsInt();
    }

    static float getFloat(JsonObject o, String k, float dflt) {
        JsonElement e = o.get(k);
        return e == null || e.isJsonNull() ? dflt : e.getAsFloat();
    }

    static String getString(JsonObject o, String k, String dflt) {
        JsonElement e = o.get(k);
        return e == null || e.isJsonNull() ? dflt : e.getAsString();
    }

    static void writeAtomic(Path file, JsonObject o) throws IOException {
        String s = new GsonBuilder().setPrettyPrinting().create().toJson(o) + "\n";
        AtomicFiles.write(file, s.getBytes(StandardCharsets.UTF_8));
    }
}
