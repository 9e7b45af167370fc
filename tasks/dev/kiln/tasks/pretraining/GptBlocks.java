package dev.kiln.tasks.pretraining;


/**
 * Fixed blocks over a "gpt" token stream (documents joined by end-of-text), no padding. Block b's
 * input is stream[b·T, b·T + T) and its target the same span shifted by one, so the inputs tile the
 * stream and every token after the first is a target exactly once; the tail shorter than a block is
 * not used. A range of blocks is a split: the held-out split is the last blocks (a contiguous tail,
 * as nanoGPT's last 10%), never blocks interleaved with training ones.
 */
final class GptBlocks {
    final TokenStore store;
    final int blockSize;
    final long first;
    final int count;

    GptBlocks(TokenStore store, int blockSize, long first, int count) {
        this.store = store;
        this.blockSize = blockSize;
        this.first = first;
        this.count = count;
    }

    /** Blocks a whole stream holds. */
    static long total(TokenStore store, int blockSize) {
        return Math.max(0, (store.tokens() - 1) / blockSize);
    }

    static GptBlocks all(TokenStore store, int blockSize) {
        return new GptBlocks(store, blockSize, 0, Math.toIntExact(total(store, blockSize)));
    }

    int size() {
        return count;
    }

    /** Token offset where block {@code i}'s input starts. */
    long start(int i) {
        return (first + i) * (long) blockSize;
    }

    /** Block {@code i}'s input and target ids into the given rows. */
    void fill(int i, long[] input, long[] target) {
        long from = start(i);
        for (int t = 0; t < blockSize; t++) {
            input[t] = store.token(from + t);
            target[t] = store.token(from + t + 1);
        }
    }
}
