package dev.kiln.tasks.pretraining;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * BERT training instances as token ranges of a "bert" store (sentence units), built the way Google's
 * create_pretraining_data.py builds them: per document, sentences are gathered up to a target length
 * (max_length − 3, or with probability short_seq_prob a random length from 2), split at a random
 * sentence into A and B; with probability ½ — and always when the chunk is one sentence — B is
 * instead taken from a random other document and the unused sentences go back to the document; the
 * pair is then trimmed, longer side first, one token at a time from a random end.
 * Without NSP an instance is one segment of whole sentences (max_length − 2 tokens).
 *
 * <p>Instances are a pure function of (store, document range, settings, seed), written once to a
 * memory-mapped table of five int64 per instance: A start, A end, B start, B end (−1, −1 without
 * NSP), 1 if B is random. Dynamic masking happens later, per epoch.
 */
final class BertPairs {
    static final int FIELDS = 5;

    private final TokenStore store;
    private final TokenStore.MappedLongs table;
    private final int count;

    private BertPairs(TokenStore store, Path file) throws IOException {
        this.store = store;
        this.table = new TokenStore.MappedLongs(file);
        this.count = Math.toIntExact(table.size() / FIELDS);
    }

    record Instance(long aStart, long aEnd, long bStart, long bEnd, boolean randomNext) {
        boolean hasB() {
            return bStart >= 0;
        }
    }

    int size() {
        return count;
    }

    TokenStore store() {
        return store;
    }

    Instance get(int i) {
        long at = (long) i * FIELDS;
        return new Instance(table.get(at), table.get(at + 1), table.get(at + 2), table.get(at + 3), table.get(at + 4) == 1);
    }

    /** The instances of documents [d0, d1), built into the store's work folder on first use. */
    static BertPairs open(TokenStore store, long d0, long d1, int maxLength, double shortSeqProb, boolean nsp, long seed)
            throws IOException {
        String key = Corpus.sha256("pairs v" + Corpus.VERSION + " " + d0 + " " + d1 + " " + maxLength + " " + shortSeqProb
                + " " + nsp + " " + seed).substring(0, 16);
        Path file = store.workDir().resolve("pairs-" + key + ".i64");
        if (!Files.isRegularFile(file)) {
            Path tmp = Files.createTempFile(store.workDir(), ".pairs", ".tmp");
            try {
                long n = build(store, d0, d1, maxLength, shortSeqProb, nsp, seed, tmp);
                if (n == 0) {
                    throw new IOException(store.dir() + ": documents " + d0 + ".." + d1 + " give no training instances (too little text?)");
                }
                Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return new BertPairs(store, file);
    }

    static long build(TokenStore st, long d0, long d1, int maxLength, double shortSeqProb, boolean nsp, long seed, Path out)
            throws IOException {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 0x5EED);
        int maxTokens = nsp ? maxLength - 3 : maxLength - 2;
        if (maxTokens < 2) throw new IllegalArgumentException("data.max_length " + maxLength + " is too short for BERT pairs");
        long n = 0;
        try (TokenStore.LittleEndianOut w = new TokenStore.LittleEndianOut(out)) {
            for (long d = d0; d < d1; d++) {
                long u0 = st.docUnit(d);
                long u1 = st.docUnit(d + 1);
                int target = maxTokens;
                if (rng.nextDouble() < shortSeqProb) target = 2 + rng.nextInt(maxTokens - 1);
                long chunkStart = u0;
                long curLen = 0;
                for (long i = u0; i < u1; i++) {
                    curLen += st.unitStart(i + 1) - st.unitStart(i);
                    if (i != u1 - 1 && curLen < target) continue;
                    long c = i - chunkStart + 1;
                    if (!nsp) {
                        long aS = st.unitStart(chunkStart);
                        long aE = Math.min(st.unitStart(i + 1), aS + maxTokens);
                        write(w, aS, aE, -1, -1, 0);
                        n++;
                    } else {
                        long aUnits = c >= 2 ? 1 + rng.nextLong(c - 1) : 1;
                        long aS = st.unitStart(chunkStart);
                        long aE = st.unitStart(chunkStart + aUnits);
                        boolean random = c == 1 || rng.nextDouble() < 0.5;
                        long bS;
                        long bE;
                        if (random) {
                            long targetB = target - (aE - aS);
                            long rd = d;
                            for (int t = 0; t < 10 && d1 - d0 > 1; t++) {
                                rd = d0 + rng.nextLong(d1 - d0);
                                if (rd != d) break;
                            }
                            long ru0 = st.docUnit(rd);
                            long ru1 = st.docUnit(rd + 1);
                            long j = ru0 + rng.nextLong(ru1 - ru0);
                            bS = st.unitStart(j);
                            do {
                                bE = st.unitStart(++j);
                            } while (j < ru1 && bE - bS < targetB);
                            i -= c - aUnits; // the unused sentences are read again
                        } else {
                            bS = aE;
                            bE = st.unitStart(i + 1);
                        }
                        long la = aE - aS;
                        long lb = bE - bS;
                        while (la + lb > maxTokens) {
                            boolean front = rng.nextDouble() < 0.5;
                            if (la > lb) {
                                if (front) aS++; else aE--;
                                la--;
                            } else {
                                if (front) bS++; else bE--;
                                lb--;
                            }
                        }
                        if (la >= 1 && lb >= 1) {
                            write(w, aS, aE, bS, bE, random ? 1 : 0);
                            n++;
                        }
                    }
                    chunkStart = i + 1;
                    curLen = 0;
                }
            }
        }
        return n;
    }

    private static void write(TokenStore.LittleEndianOut w, long aS, long aE, long bS, long bE, int random) throws IOException {
        w.writeLong(aS);
        w.writeLong(aE);
        w.writeLong(bS);
        w.writeLong(bE);
        w.writeLong(random);
    }
}
