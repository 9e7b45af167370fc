package dev.kiln.text;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SentenceSplitterTest {
    static List<String> split(String s) {
        return SentenceSplitter.sentences(s);
    }

    @Test
    void splitsAtTerminatorsBeforeCapitalsAndAtLineBreaks() {
        assertEquals(List.of("Ad sales boost profit", "Profits jumped 76%.", "Is it over?", "Yes!"),
                split("Ad sales boost profit\n\nProfits jumped 76%. Is it over? Yes!"));
        assertEquals(List.of("He waited...", "Then he left."), split("He waited... Then he left."));
    }

    @Test
    void quotesAndBracketsStayWithTheirSentence() {
        assertEquals(List.of("He said: \"It is over.\"", "Then he left."), split("He said: \"It is over.\" Then he left."));
        assertEquals(List.of("Sales fell.", "\"We are worried,\" he said."), split("Sales fell. \"We are worried,\" he said."));
        assertEquals(List.of("\"Is it over?\" he asked."), split("\"Is it over?\" he asked."));
        assertEquals(List.of("It rose (by 2%.)", "(Then it fell.)"), split("It rose (by 2%.) (Then it fell.)"));
    }

    @Test
    void abbreviationsInitialsAndAcronymsDoNotEndSentences() {
        assertEquals(List.of("Mr. Blair met Dr. Smith and Gen. Jackson on St. James's Street."),
                split("Mr. Blair met Dr. Smith and Gen. Jackson on St. James's Street."));
        assertEquals(List.of("J. K. Rowling and George W. Bush met."), split("J. K. Rowling and George W. Bush met."));
        assertEquals(List.of("The U.S. President spoke."), split("The U.S. President spoke."));
        assertEquals(List.of("Growth was 0.1% and 2.5 times more."), split("Growth was 0.1% and 2.5 times more."));
        assertEquals(List.of("It is no. 1 in the charts."), split("It is no. 1 in the charts."));
        // all capitals: an acronym, not the title Ms.
        assertEquals(List.of("It helps patients with MS.", "Approval is near."), split("It helps patients with MS. Approval is near."));
        // a possessive is a word, not an initial
        assertEquals(List.of("He works at Standard & Poor's.", "But he left."), split("He works at Standard & Poor's. But he left."));
    }

    @Test
    void lowerCaseOrDigitAfterAPeriodIsNotABoundary() {
        assertEquals(List.of("Shares in Google Inc. rose."), split("Shares in Google Inc. rose."));
        assertEquals(List.of("It was 2004. 2005 was worse."), split("It was 2004. 2005 was worse."), "documented limit");
    }

    /** The BBC summaries join sentences without a space: "...$10.9bn.For the full-year...". */
    @Test
    void gluedSentences() {
        assertEquals(List.of("Sales rose to $10.9bn.", "For the full-year, profit rose.", "AOL lost users.", "Its shares fell."),
                split("Sales rose to $10.9bn.For the full-year, profit rose.AOL lost users.Its shares fell."));
        assertEquals(List.of("He said \"no.\"", "The talks ended."), split("He said \"no.\"The talks ended."));
        assertEquals(List.of("Visit www.BBC.co.uk now."), split("Visit www.BBC.co.uk now."));
        assertEquals(List.of("Mr.Smith arrived."), split("Mr.Smith arrived."));
    }

    @Test
    void offsetsPointIntoTheSource() {
        String text = "  One here.  Two there.\n\nThree.";
        List<SentenceSplitter.Sentence> s = SentenceSplitter.split(text);
        assertEquals(3, s.size());
        for (SentenceSplitter.Sentence x : s) assertEquals(x.text(), text.substring(x.start(), x.end()));
        assertEquals(2, s.get(0).start());
        assertEquals(List.of(), split(" \n\n "));
    }
}
