package dev.kiln.data;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SplitsTest {
    /** 100 "a", 50 "b", 7 "c" and one "d", interleaved. */
    private static List<LabelledText> data() {
        List<LabelledText> out = new ArrayList<>();
        int line = 0;
        for (int i = 0; i < 100; i++) {
            out.add(new LabelledText("a" + i, null, "a", Path.of("t"), ++line));
            if (i % 2 == 0) out.add(new LabelledText("b" + i, null, "b", Path.of("t"), ++line));
            if (i % 15 == 0) out.add(new LabelledText("c" + i, null, "c", Path.of("t"), ++line));
        }
        out.add(new LabelledText("d", null, "d", Path.of("t"), ++line));
        return out;
    }

    private static long count(List<LabelledText> l, String label) {
        return l.stream().filter(t -> t.label().equals(label)).count();
    }

    @Test
    void stratifiedCounts() {
        List<LabelledText> all = data();
        Splits.Split<LabelledText> s = Splits.devSplit(all, 0.2, 7);
        assertEquals(20, count(s.dev(), "a"));
        assertEquals(10, count(s.dev(), "b"));
        assertEquals(1, count(s.dev(), "c"));    // round(7 * 0.2) = 1
        assertEquals(0, count(s.dev(), "d"));    // a singleton stays in train
        assertEquals(all.size(), s.train().size() + s.dev().size());
        Set<LabelledText> union = new HashSet<>(s.train());
        union.addAll(s.dev());
        assertEquals(new HashSet<>(all), union);
        // both parts keep the input order
        assertTrue(isOrdered(s.train()) && isOrdered(s.dev()));
        // a class of two keeps one in train even at a large fraction
        Splits.Split<LabelledText> big = Splits.devSplit(all, 0.9, 7);
        assertEquals(6, count(big.dev(), "c"));
        assertEquals(1, count(big.train(), "c"));
    }

    private static boolean isOrdered(List<LabelledText> l) {
        for (int i = 1; i < l.size(); i++) if (l.get(i).line() <= l.get(i - 1).line()) return false;
        return true;
    }

    @Test
    void sameSeedSameSplit() {
        List<LabelledText> all = data();
        Splits.Split<LabelledText> a = Splits.devSplit(all, 0.2, 42);
        assertEquals(a, Splits.devSplit(new ArrayList<>(all), 0.2, 42));
        assertNotEquals(a.dev(), Splits.devSplit(all, 0.2, 43).dev());
        // a class's split does not depend on the other classes
        List<LabelledText> onlyA = all.stream().filter(t -> t.label().equals("a")).toList();
        assertEquals(a.dev().stream().filter(t -> t.label().equals("a")).toList(), Splits.devSplit(onlyA, 0.2, 42).dev());
    }

    @Test
    void badFraction() {
        assertThrows(IllegalArgumentException.class, () -> Splits.devSplit(data(), 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Splits.devSplit(data(), 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Splits.devSplit(data(), Double.NaN, 1));
    }
}
