package dev.kiln.tasks.qa;

import dev.kiln.data.DataException;
import dev.kiln.data.Splits;
import dev.kiln.TestSupport;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SquadReaderTest {
    private static final Path F = Path.of("toy.json");

    private static String doc(String context, String answers) {
        return "{\"version\":\"1.1\",\"data\":[{\"title\":\"T0\",\"paragraphs\":[{\"context\":\"ok\",\"qas\":[]}]},"
                + "{\"title\":\"Denver\",\"paragraphs\":[{\"context\":\"x\",\"qas\":[]},"
                + "{\"context\":" + context + ",\"qas\":[{\"id\":\"q7\",\"question\":\"Who?\",\"answers\":" + answers + "}]}]}]}";
    }

    private static String error(String json) {
        return assertThrows(DataException.class, () -> SquadReader.parse(json, F)).getMessage();
    }

    @Test
    void readsEveryGoldAnswerWithItsOffset() {
        List<SquadReader.Article> a = SquadReader.parse(doc("\"The Broncos beat the Panthers.\"",
                "[{\"text\":\"Broncos\",\"answer_start\":4},{\"text\":\"The Broncos\",\"answer_start\":0},"
                        + "{\"text\":\"Broncos\",\"answer_start\":4}]"), F);
        List<SquadReader.Example> ex = SquadReader.examples(a);
        assertEquals(1, ex.size());
        SquadReader.Example e = ex.get(0);
        assertEquals("q7", e.id());
        assertEquals("Denver", e.title());
        assertEquals(3, e.answers().size()); // duplicates kept: the official score takes the max over all
        assertEquals(new SquadReader.Answer("The Broncos", 0), e.answers().get(1));
        for (SquadReader.Answer x : e.answers()) assertEquals(x.text(), e.context().substring(x.start(), x.end()));
    }

    @Test
    void answerStartCountsCodePointsNotUtf16Units() {
        // U+1F600 is one Python character but two Java chars: "😀 Tesla" has Tesla at code point 2, Java index 3
        List<SquadReader.Example> ex = SquadReader.examples(SquadReader.parse(
                doc("\"\\uD83D\\uDE00 Tesla\"", "[{\"text\":\"Tesla\",\"answer_start\":2}]"), F));
        assertEquals(3, ex.get(0).answers().get(0).start());
    }

    @Test
    void errorsNameFileArticleParagraphAndQuestion() {
        String m = error(doc("\"The Broncos beat the Panthers.\"", "[{\"text\":\"Broncos\",\"answer_start\":5}]"));
        assertEquals("toy.json: data[1] (\"Denver\"), paragraph 1, question id q7, answers[0]: answer text \"Broncos\" "
                + "is not at answer_start 5 (the context has \"roncos \" there)", m);
        m = error(doc("\"abc\"", "[{\"text\":\"abc\",\"answer_start\":9}]"));
        assertTrue(m.contains("question id q7, answers[0]: answer_start 9 is outside the context (3 characters)"), m);
        m = error(doc("\"  \"", "[{\"text\":\"a\",\"answer_start\":0}]"));
        assertEquals("toy.json: data[1] (\"Denver\"), paragraph 1: empty context", m);
        m = error(doc("\"abc\"", "[{\"answer_start\":0}]"));
        assertTrue(m.endsWith("question id q7, answers[0]: missing field \"text\""), m);
        m = error(doc("\"abc\"", "[{\"text\":\"a\",\"answer_start\":\"0\"}]"));
        assertTrue(m.endsWith("field \"answer_start\" must be an integer"), m);
        m = error(doc("\"abc\"", "[]"));
        assertTrue(m.endsWith("question id q7: no answers (SQuAD v1.1 questions need at least one)"), m);
        m = error("{\"data\":[{\"paragraphs\":[]}]}");
        assertEquals("toy.json: data[0]: missing field \"title\"", m);
        m = error("{\"data\":[{\"title\":\"A\",\"paragraphs\":[{\"qas\":[]}]}]}");
        assertEquals("toy.json: data[0] (\"A\"), paragraph 0: missing field \"context\"", m);
        m = error("{\"data\":[{\"title\":\"A\",\"paragraphs\":[{\"context\":\"c\",\"qas\":[{\"question\":\"q\"}]}]}]}");
        assertEquals("toy.json: data[0] (\"A\"), paragraph 0, qas[0]: missing field \"id\"", m);
        m = error("[1, 2]");
        assertTrue(m.startsWith("toy.json: expected SQuAD JSON"), m);
        m = error("{\"data\": [");
        assertTrue(m.startsWith("toy.json: not valid JSON"), m);
        String dup = "{\"data\":[{\"title\":\"A\",\"paragraphs\":[{\"context\":\"c\",\"qas\":["
                + "{\"id\":\"x\",\"question\":\"q\",\"answers\":[{\"text\":\"c\",\"answer_start\":0}]},"
                + "{\"id\":\"x\",\"question\":\"q\",\"answers\":[{\"text\":\"c\",\"answer_start\":0}]}]}]}]}";
        assertTrue(error(dup).contains("question id x: duplicate question id"), error(dup));
        String v2 = "{\"data\":[{\"title\":\"A\",\"paragraphs\":[{\"context\":\"c\",\"qas\":["
                + "{\"id\":\"x\",\"question\":\"q\",\"is_impossible\":true,\"answers\":[]}]}]}]}";
        assertTrue(error(v2).contains("unanswerable (SQuAD v2) questions are not supported"), error(v2));
    }

    @Test
    void byArticleSplitIsDeterministicAndKeepsArticlesWhole() throws Exception {
        Path file = TestSupport.shared("datasets/squad_v1.1/dev-v1.1-part-a.json");
        List<SquadReader.Article> all = SquadReader.read(file);
        assertEquals(39, all.size());
        assertEquals(8595, SquadReader.examples(all).size()); // the count SOURCE.md gives
        Splits.Split<SquadReader.Article> s = SquadReader.splitByArticle(all, 0.2, 42);
        assertEquals(8, s.dev().size()); // round(39 * 0.2)
        assertEquals(31, s.train().size());
        Set<String> train = new HashSet<>();
        s.train().forEach(a -> train.add(a.title()));
        s.dev().forEach(a -> assertTrue(!train.contains(a.title()), a.title() + " on both sides"));
        Splits.Split<SquadReader.Article> again = SquadReader.splitByArticle(SquadReader.read(file), 0.2, 42);
        assertEquals(s.dev().stream().map(SquadReader.Article::title).toList(),
                again.dev().stream().map(SquadReader.Article::title).toList());
        assertNotEquals(s.dev().stream().map(SquadReader.Article::title).toList(),
                SquadReader.splitByArticle(all, 0.2, 7).dev().stream().map(SquadReader.Article::title).toList());
        assertEquals(1, SquadReader.splitByArticle(all.subList(0, 3), 0.01, 1).dev().size()); // never an empty side
    }
}
