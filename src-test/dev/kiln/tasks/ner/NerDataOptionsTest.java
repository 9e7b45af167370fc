package dev.kiln.tasks.ner;

import dev.kiln.data.DataException;
import dev.kiln.config.SettingsJson;
import dev.kiln.train.DataOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A tagger trained on CoNLL files (the shipped config) evaluates a JSONL file with --format jsonl. */
class NerDataOptionsTest {
    @TempDir
    Path dir;

    @Test
    void aConllRunReadsJsonlWithTheFormatOption() throws IOException {
        // what a run of configs/conll03-minilm.json saves in kiln_task.json
        NerProvider.DataSettings saved = new NerProvider.DataSettings("conll", "utf-8", 0, -1, "auto", "tokens", "tags");
        Path jsonl = Files.writeString(dir.resolve("dev.jsonl"),
                "{\"tokens\": [\"Angela\", \"Merkel\", \"visited\", \"Paris\"], \"tags\": [\"B-PER\", \"I-PER\", \"O\", \"B-LOC\"]}\n");
        // the run's own settings read the JSONL file as CoNLL and fail
        assertThrows(DataException.class, () -> saved.read(jsonl));
        NerProvider.DataSettings asJsonl = SettingsJson.fromJson(
                DataOptions.merge(SettingsJson.toJson(saved), Map.of("format", "jsonl"), NerProvider.DataSettings.OPTIONS, "ner"), NerProvider.DataSettings.class);
        List<ConllReader.Sentence> s = asJsonl.read(jsonl).sentences();
        assertEquals(1, s.size());
        assertEquals(List.of("Angela", "Merkel", "visited", "Paris"), s.get(0).tokens());
        assertEquals(List.of("B-PER", "I-PER", "O", "B-LOC"), s.get(0).tags());

        Path renamed = Files.writeString(dir.resolve("hf.jsonl"),
                "{\"words\": [\"Paris\"], \"ner\": [\"B-LOC\"]}\n");
        NerProvider.DataSettings hf = SettingsJson.fromJson(DataOptions.merge(SettingsJson.toJson(saved),
                Map.of("format", "jsonl", "tokens_field", "words", "tags_field", "ner"), NerProvider.DataSettings.OPTIONS, "ner"), NerProvider.DataSettings.class);
        assertEquals(List.of("B-LOC"), hf.read(renamed).sentences().get(0).tags());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataOptions.merge(SettingsJson.toJson(saved),
                Map.of("text_field", "words"), NerProvider.DataSettings.OPTIONS, "ner"));
        assertTrue(e.getMessage().startsWith("data.text_field is not a data option of the ner task"), e.getMessage());
    }
}
