package dev.kiln.metrics;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RougeTest {
    static final double EPS = 1e-12;

    static void assertScore(double p, double r, double f, Rouge.Score s) {
        assertEquals(p, s.precision(), EPS, "precision");
        assertEquals(r, s.recall(), EPS, "recall");
        assertEquals(f, s.f1(), EPS, "f1");
    }

    @Test
    void tokenizerLowercasesAndSplitsOnNonAlphanumerics() {
        Rouge r = new Rouge(false);
        assertEquals(List.of("profits", "rose", "2", "to", "11", "1bn", "for", "the", "year"),
                r.tokenize("Profits rose 2% to $11.1bn.For the year"));
        assertEquals(List.of("caf", "s", "don", "t"), r.tokenize("Café's — don't"), "non-ASCII letters are separators too");
        assertEquals(List.of(), r.tokenize(" ... "));
    }

    /**
     * pred "The cat sat on the mat."  ref "The cat was on the mat!"
     * tokens: the cat sat on the mat / the cat was on the mat (6 each)
     * ROUGE-1: the×2, cat, on, mat shared = 5 → P = R = F = 5/6
     * ROUGE-2: {the cat, on the, the mat} of 5 bigrams each → 3/5
     * ROUGE-L: LCS "the cat on the mat" = 5 → 5/6
     */
    @Test
    void rougeNAndLByHand() {
        Map<String, Rouge.Score> s = new Rouge(false).score("The cat sat on the mat.", "The cat was on the mat!");
        assertScore(5 / 6.0, 5 / 6.0, 5 / 6.0, s.get("rouge1"));
        assertScore(3 / 5.0, 3 / 5.0, 3 / 5.0, s.get("rouge2"));
        assertScore(5 / 6.0, 5 / 6.0, 5 / 6.0, s.get("rougeL"));
        assertScore(5 / 6.0, 5 / 6.0, 5 / 6.0, s.get("rougeLsum")); // one sentence each: Lsum = L
    }

    /**
     * pred "the cat" (2 tokens)  ref "the cat sat down" (4 tokens)
     * ROUGE-1 overlap 2: P = 2/2, R = 2/4, F = 2·1·0.5/1.5 = 2/3
     * ROUGE-2 overlap 1 ("the cat"): P = 1/1, R = 1/3, F = 2·(1/3)/(4/3) = 1/2
     */
    @Test
    void precisionAndRecallDiffer() {
        Map<String, Rouge.Score> s = new Rouge(false).score("the cat", "the cat sat down");
        assertScore(1, 0.5, 2 / 3.0, s.get("rouge1"));
        assertScore(1, 1 / 3.0, 0.5, s.get("rouge2"));
        assertScore(1, 0.5, 2 / 3.0, s.get("rougeL"));
    }

    /**
     * pred "Cats are running"  ref "the cat runs"
     * without stemming nothing matches. With stemming only tokens longer than 3 are stemmed:
     * cats → cat, are (3) kept, running → runn → run; the, cat (3) kept, runs → run.
     * pred = cat are run, ref = the cat run: ROUGE-1 = 2/3 (cat, run); ROUGE-2 = 0
     * ("cat are", "are run" vs "the cat", "cat run"); ROUGE-L = |cat run| / 3 = 2/3.
     */
    @Test
    void stemmingOnlyTouchesTokensLongerThanThree() {
        Map<String, Rouge.Score> plain = new Rouge(false).score("Cats are running", "the cat runs");
        assertScore(0, 0, 0, plain.get("rouge1"));
        Rouge stem = new Rouge(true);
        assertEquals(List.of("cat", "are", "run"), stem.tokenize("Cats are running"));
        assertEquals(List.of("the", "cat", "run"), stem.tokenize("the cat runs"));
        Map<String, Rouge.Score> s = stem.score("Cats are running", "the cat runs");
        assertScore(2 / 3.0, 2 / 3.0, 2 / 3.0, s.get("rouge1"));
        assertScore(0, 0, 0, s.get("rouge2"));
        assertScore(2 / 3.0, 2 / 3.0, 2 / 3.0, s.get("rougeL"));
    }

    /**
     * ref "the cat sat\nthe dog ran"  pred "the dog sat\nthe cat ran"
     * ROUGE-L ignores the newlines: the LCS of "the cat sat the dog ran" and "the dog sat the cat ran"
     * is 4 ("the sat the ran") → 4/6.
     * ROUGE-Lsum: reference sentence 1 (the cat sat) has LCS {the, sat} with "the dog sat" and
     * {the, cat} with "the cat ran": union {the, cat, sat}, 3 hits. Sentence 2 (the dog ran): union of
     * {the, dog} and {the, ran} = {the, dog, ran}, 3 more hits (a second "the" is left on both sides).
     * 6 hits of 6 tokens each side → P = R = F = 1.
     */
    @Test
    void lsumUnionsLcsAcrossSentences() {
        Map<String, Rouge.Score> s = new Rouge(false).score("the dog sat\nthe cat ran", "the cat sat\nthe dog ran");
        assertScore(4 / 6.0, 4 / 6.0, 4 / 6.0, s.get("rougeL"));
        assertScore(1, 1, 1, s.get("rougeLsum"));
    }

    /**
     * ref "the cat\nthe hat" (4 tokens)  pred "the cat hat" (3 tokens)
     * sentence 1: LCS {the, cat}: 2 hits; the prediction's only "the" is now used up.
     * sentence 2: LCS {the, hat}: "the" no longer counts, hat does: 1 hit. hits = 3.
     * P = 3/3, R = 3/4, F = 2·0.75/1.75 = 6/7.
     */
    @Test
    void lsumClipsTokenCounts() {
        Rouge.Score s = new Rouge(false).rougeLsum("the cat hat", "the cat\nthe hat");
        assertScore(1, 0.75, 6 / 7.0, s);
    }

    @Test
    void emptyTextsScoreZero() {
        Map<String, Rouge.Score> s = new Rouge(true).score("", "the cat");
        for (String t : Rouge.TYPES) assertScore(0, 0, 0, s.get(t));
        assertScore(0, 0, 0, new Rouge(true).score("!!!", "").get("rougeLsum"));
    }

    @Test
    void corpusScoreIsTheMeanOfExampleF1() {
        Rouge r = new Rouge(false);
        Rouge.Aggregate a = new Rouge.Aggregate();
        a.add(r.score("the cat", "the cat sat down"));      // rouge1 F 2/3
        a.add(r.score("The cat sat on the mat.", "The cat was on the mat!")); // 5/6
        assertEquals(2, a.count());
        assertEquals((2 / 3.0 + 5 / 6.0) / 2, a.f1(1).get("rouge1"), EPS);
        assertEquals(100 * (2 / 3.0 + 5 / 6.0) / 2, a.f1(100).get("rouge1"), 1e-9);
        assertEquals((1 + 5 / 6.0) / 2, a.mean().get("rouge1").precision(), EPS);
    }

    /** The worked examples of Porter's paper, step by step, and two whole words. */
    @Test
    void porterStemmerPaperExamples() {
        String[][] cases = {
                // step 1a
                {"caresses", "caress"}, {"ponies", "poni"}, {"ties", "ti"}, {"caress", "caress"}, {"cats", "cat"},
                // step 1b
                {"feed", "feed"}, {"agreed", "agre"}, {"plastered", "plaster"}, {"bled", "bled"},
                {"motoring", "motor"}, {"sing", "sing"}, {"conflated", "conflat"}, {"troubled", "troubl"},
                {"sized", "size"}, {"hopping", "hop"}, {"tanned", "tan"}, {"falling", "fall"},
                {"hissing", "hiss"}, {"fizzed", "fizz"}, {"failing", "fail"}, {"filing", "file"},
                // step 1c
                {"happy", "happi"}, {"sky", "sky"},
                // step 2 (then later steps)
                {"relational", "relat"}, {"conditional", "condit"}, {"rational", "ration"},
                {"digitizer", "digit"}, {"vietnamization", "vietnam"}, {"predication", "predic"},
                {"operator", "oper"}, {"feudalism", "feudal"}, {"decisiveness", "decis"},
                {"hopefulness", "hope"}, {"callousness", "callous"}, {"formality", "formal"},
                {"sensitivity", "sensit"}, {"sensibility", "sensibl"},
                // step 3
                {"triplicate", "triplic"}, {"formative", "form"}, {"formalize", "formal"},
                {"electricity", "electr"}, {"electrical", "electr"}, {"hopeful", "hope"}, {"goodness", "good"},
                // step 4
                {"revival", "reviv"}, {"allowance", "allow"}, {"inference", "infer"}, {"airliner", "airlin"},
                {"gyroscopic", "gyroscop"}, {"adjustable", "adjust"}, {"defensible", "defens"},
                {"irritant", "irrit"}, {"replacement", "replac"}, {"adjustment", "adjust"},
                {"dependent", "depend"}, {"adoption", "adopt"}, {"communism", "commun"},
                {"activate", "activ"}, {"angularity", "angular"}, {"homologous", "homolog"},
                {"effective", "effect"}, {"bowdlerize", "bowdler"},
                // step 5
                {"probate", "probat"}, {"rate", "rate"}, {"cease", "ceas"}, {"controlling", "control"}, {"roll", "roll"},
                // whole words through every step
                {"generalizations", "gener"}, {"oscillators", "oscil"},
                // Martin Porter's departures: BLI -> BLE, LOGI -> LOG, short words kept
                {"possibly", "possibl"}, {"geology", "geolog"}, {"archaeology", "archaeolog"}, {"is", "is"},
        };
        for (String[] c : cases) assertEquals(c[1], PorterStemmer.stem(c[0]), c[0]);
    }

    /** The paper's intermediate forms for step-2/3/4 rules, checked rule by rule. */
    @Test
    void porterStepRules() {
        assertEquals("relate", PorterStemmer.step2("relational"));
        assertEquals("condition", PorterStemmer.step2("conditional"));
        assertEquals("rational", PorterStemmer.step2("rational")); // m(r) = 0
        assertEquals("valence", PorterStemmer.step2("valenci"));
        assertEquals("conformable", PorterStemmer.step2("conformabli"));
        assertEquals("radical", PorterStemmer.step2("radicalli"));
        assertEquals("different", PorterStemmer.step2("differentli"));
        assertEquals("vile", PorterStemmer.step2("vileli"));
        assertEquals("analogous", PorterStemmer.step2("analogousli"));
        assertEquals("geolog", PorterStemmer.step2("geologi"));
        assertEquals("sensible", PorterStemmer.step2("sensibiliti"));
        assertEquals("electric", PorterStemmer.step3("electriciti"));
        assertEquals("homolog", PorterStemmer.step4("homologou"));
        assertEquals("control", PorterStemmer.step5b("controll"));
        assertEquals(2, PorterStemmer.measure("troubles"));
        assertEquals(0, PorterStemmer.measure("tree"));
        assertEquals(1, PorterStemmer.measure("trouble"));
    }
}
