package dev.kiln.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;

/**
 * RFC 8259 JSON to a Gson tree, refusing what Gson's own parser lets through silently: duplicate
 * keys (the last would win) and trailing text. Numbers stay exact (BigDecimal) so an integer
 * check can tell 3 from 3.5.
 */
public final class StrictJson {
    private StrictJson() {}

    /** Thrown with a one-line reason that names the line and column. */
    public static final class SyntaxError extends Exception {
        SyntaxError(String msg) {
            super(msg);
        }
    }

    public static JsonElement parse(String text) throws SyntaxError {
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.STRICT);
            JsonElement e = read(r, "");
            boolean end;
            try {
                end = r.peek() == JsonToken.END_DOCUMENT;
            } catch (IOException junk) {
                end = false; // strict mode throws on a second top-level value
            }
            if (!end) throw new SyntaxError("unexpected text after the end" + where(r));
            return e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new SyntaxError(firstLine(e.getMessage()));
        }
    }

    private static JsonElement read(JsonReader r, String path) throws IOException, SyntaxError {
        switch (r.peek()) {
            case BEGIN_OBJECT: {
                JsonObject o = new JsonObject();
                r.beginObject();
                while (r.hasNext()) {
                    String name = r.nextName();
                    String p = path.isEmpty() ? name : path + "." + name;
                    if (o.has(name)) throw new SyntaxError("duplicate key \"" + p + "\"" + where(r));
                    o.add(name, read(r, p));
                }
                r.endObject();
                return o;
            }
            case BEGIN_ARRAY: {
                JsonArray a = new JsonArray();
                r.beginArray();
                while (r.hasNext()) a.add(read(r, path + "[" + a.size() + "]"));
                r.endArray();
                return a;
            }
            case STRING:
                return new JsonPrimitive(r.nextString());
            case NUMBER:
                return new JsonPrimitive(new BigDecimal(r.nextString()));
            case BOOLEAN:
                return new JsonPrimitive(r.nextBoolean());
            case NULL:
                r.nextNull();
                return JsonNull.INSTANCE;
            default:
                throw new SyntaxError("unexpected " + r.peek() + where(r));
        }
    }

    private static String where(JsonReader r) {
        // JsonReader.toString() is "JsonReader at line L column C path P"
        String s = r.toString();
        int i = s.indexOf(" at line ");
        return i < 0 ? "" : s.substring(i).replaceFirst(" path .*$", "");
    }

    private static String firstLine(String msg) {
        if (msg == null) return "malformed JSON";
        int nl = msg.indexOf('\n');
        String s = nl < 0 ? msg : msg.substring(0, nl);
        // Gson's advice is for programmers, not for someone editing a config file
        return s.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", "malformed JSON")
                .replaceFirst(" path \\$\\S*", "").trim();
    }
}
