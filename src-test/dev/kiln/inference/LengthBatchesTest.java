package dev.kiln.inference;

import ai.djl.ndarray.NDManager;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.io.HfFolder;
import dev.kiln.models.bert.BertModel;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inference batching: length-sorted batches, results in input order, the same vectors as one text at a time. */
@ExtendWith(OneThreadWhenBusy.class)
class LengthBatchesTest {
    @TempDir
    Path tmp;

    @Test
    void batchesAreLongestFirstAndMapKeepsInputOrder() {
        int[] len = {3, 9, 1, 9, 4, 7, 2};
        List<int[]> b = LengthBatches.batches(len, 3, true);
        assertEquals(List.of("[1, 3, 5]", "[4, 0, 6]", "[2]"), b.stream().map(Arrays::toString).toList(),
                "longest first, ties in input order");
        List<String> items = List.of("a", "b", "c", "d", "e", "f", "g");
        List<Integer> sizes = new ArrayList<>();
        List<String> got = LengthBatches.map(items, len, 3, batch -> {
            sizes.add(batch.size());
            return batch.stream().map(String::toUpperCase).toList();
        });
        assertEquals(List.of("A", "B", "C", "D", "E", "F", "G"), got);
        assertEquals(List.of(3, 3, 1), sizes);
        assertArrayEquals(new int[] {0, 1, 2}, LengthBatches.batches(new int[] {1, 2, 3}, 5, false).get(0));
    }

    @Test
    void sortedBatchesGiveEachTextItsOwnVector() throws IOException {
        Path dir = TinyModels.bert(tmp.resolve("bert"), 2, 64, 3);
        List<String> texts = List.of("a short one.", "a rather longer sentence with quite a few more words in it than the others have.",
                "mid-sized text here, five words or so.", "hi", "another long sentence, written so that the padding of a mixed batch is large.",
                "ok then.", "the end");
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            float[][] sorted = SentenceEncoder.encode(bert, tok, texts, SentenceEncoder.Pool.MEAN, false, 3, true);
            float[][] unsorted = SentenceEncoder.encode(bert, tok, texts, SentenceEncoder.Pool.MEAN, false, 3, false);
            for (int i = 0; i < texts.size(); i++) {
                float[] one = SentenceEncoder.encode(bert, tok, List.of(texts.get(i)), SentenceEncoder.Pool.MEAN, false, 1, true)[0];
                assertTrue(TestSupport.maxAbsDiff(one, sorted[i]) < 1e-5f, "text " + i + " sorted");
                assertTrue(TestSupport.maxAbsDiff(one, unsorted[i]) < 1e-5f, "text " + i + " unsorted");
            }
        }
    }

    /** --batch-size's scope: set on this thread while open, nested scopes restore the outer size, other threads keep theirs. */
    @Test
    void aSizeScopeOverridesTheDefaultOnItsThreadUntilClosed() throws Exception {
        assertEquals(32, LengthBatches.size(32));
        try (var a = LengthBatches.withSize(4)) {
            assertEquals(4, LengthBatches.size(32));
            try (var b = LengthBatches.withSize(1)) {
                assertEquals(1, LengthBatches.size(32));
            }
            assertEquals(4, LengthBatches.size(32));
            int[] other = new int[1];
            Thread t = new Thread(() -> other[0] = LengthBatches.size(64));
            t.start();
            t.join();
            assertEquals(64, other[0]);
        }
        assertEquals(32, LengthBatches.size(32));
        assertEquals("batch size must be at least 1, got 0",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> LengthBatches.withSize(0)).getMessage());
    }
}
