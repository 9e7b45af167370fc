package dev.kiln.util;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonErrorsTest {
    @Test
    void gsonParseErrorsBecomeOneLine() {
        RuntimeException e = assertThrows(RuntimeException.class, () -> JsonParser.parseString("garbage{{"));
        assertEquals("malformed JSON at line 1 column 9 path $", JsonErrors.oneLine(e));
        RuntimeException eof = assertThrows(RuntimeException.class, () -> JsonParser.parseString("{\"a\": "));
        assertEquals(-1, JsonErrors.oneLine(eof).indexOf('\n'), JsonErrors.oneLine(eof));
    }
}
