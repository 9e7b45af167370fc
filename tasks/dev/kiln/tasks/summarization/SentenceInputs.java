package dev.kiln.tasks.summarization;

import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * BertSum-style input (Liu 2019, "Fine-tune BERT for Extractive Summarization"): {@code [CLS] s1 [SEP] [CLS] s2
 * [SEP] ...} with segment ids alternating per sentence, one pass over the whole article. The state at each
 * sentence's [CLS] is that sentence's representation, so every sentence sees the article around it; the
 * alternative (each sentence encoded in its own window of context) would cost one pass per sentence.
 * Sentences past {@code maxLength} get no [CLS] and cannot be chosen; news puts the important ones first,
 * and the lead bias is what a 512-token encoder can use anyway.
 */
final class SentenceInputs {
    private SentenceInputs() {}

    /** ids/typeIds of the sequence, the [CLS] position of each of the first {@code covered} sentences. */
    record Encoded(long[] ids, long[] typeIds, int[] cls) {
        int covered() {
            return cls.length;
        }
    }

    /** The fewest tokens of a sentence worth a [CLS] when the sequence is nearly full. */
    static final int MIN_PIECE = 4;

    static Encoded encode(Tokenizer tok, List<String> sentences, int maxLength, boolean alternateSegments) {
        List<Long> ids = new ArrayList<>();
        List<Long> types = new ArrayList<>();
        List<Integer> cls = new ArrayList<>();
        for (int i = 0; i < sentences.size(); i++) {
            long[] t = tok.encode(sentences.get(i), false).ids();
            int room = maxLength - ids.size() - 2;
            int n = Math.min(t.length, room);
            if (n < Math.min(MIN_PIECE, t.length) || n <= 0) break;
            long seg = alternateSegments ? i % 2 : 0;
            cls.add(ids.size());
            ids.add((long) tok.clsId());
            for (int j = 0; j < n; j++) ids.add(t[j]);
            ids.add((long) tok.sepId());
            for (int j = 0; j < n + 2; j++) types.add(seg);
        }
        return new Encoded(ids.stream().mapToLong(Long::longValue).toArray(),
                types.stream().mapToLong(Long::longValue).toArray(),
                cls.stream().mapToInt(Integer::intValue).toArray());
    }
}
