package dev.kiln.generate;

/** Decoding settings, with HF {@code generate()} names and defaults where they exist. */
public final class GenerationOptions {
    public int maxNewTokens = 50;
    public int minNewTokens = 0;
    /** 1 = greedy or sampling; more = beam search. */
    public int numBeams = 1;
    /** Beam scores are divided by generated_length^lengthPenalty (> 0 favours longer outputs). */
    public float lengthPenalty = 1f;
    /** Stop beam search as soon as numBeams hypotheses are finished. */
    public boolean earlyStopping = false;
    /** Forbid repeating any n-gram of this size (0 = off). */
    public int noRepeatNgramSize = 0;
    public boolean doSample = false;
    public float temperature = 1f;
    /** Keep only the k most likely tokens before sampling (0 = off). */
    public int topK = 0;
    /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
    public float topP = 1f;
    public long seed = 42;
    /** End-of-sequence id; null = never stop early. */
    public Integer eosTokenId;
    /**
     * When prompt + output outgrow the model's {@code n_positions}: condition each further token on the last
     * {@code n_positions} tokens only (nanoGPT's sampling; each such step re-runs that window, as the positions
     * shift). Off (HF's behaviour): an error. Needed to sample long texts from a model trained on short blocks.
     */
    public boolean slidingWindow = false;
    /**
     * Write only token ids that occur in the input (an encoder-decoder's source as the encoder read it, a causal LM's
     * prompt) and EOS: the per-input vocabulary restriction of Jean et al. 2015 and Nallapati et al. 2016 (their
     * "large vocabulary trick", without the list of frequent words). For references that reuse the input's words,
     * such as BBC News's extracted summaries; it cannot write a word the input lacks.
     */
    public boolean inputVocabularyOnly = false;

    public GenerationOptions copy() {
        GenerationOptions o = new GenerationOptions();
        o.maxNewTokens = maxNewTokens;
        o.minNewTokens = minNewTokens;
        o.numBeams = numBeams;
        o.lengthPenalty = lengthPenalty;
        o.earlyStopping = earlyStopping;
        o.noRepeatNgramSize = noRepeatNgramSize;
        o.doSample = doSample;
        o.temperature = temperature;
        o.topK = topK;
        o.topP = topP;
        o.seed = seed;
        o.eosTokenId = eosTokenId;
        o.slidingWindow = slidingWindow;
        o.inputVocabularyOnly = inputVocabularyOnly;
        return o;
    }

    /** Beam search scores raw log-probabilities: no temperature/top-k/top-p reshaping. */
    GenerationOptions copyForBeam() {
        GenerationOptions o = copy();
        o.doSample = false;
        return o;
    }

    public void validate() {
        if (maxNewTokens < 1) throw new IllegalArgumentException("max_new_tokens must be at least 1, got " + maxNewTokens);
        if (minNewTokens < 0 || minNewTokens > maxNewTokens) {
            throw new IllegalArgumentException("min_new_tokens must be in [0, max_new_tokens], got " + minNewTokens);
        }
        if (numBeams < 1) throw new IllegalArgumentException("num_beams must be at least 1, got " + numBeams);
        if (doSample && numBeams > 1) throw new IllegalArgumentException("sampling with num_beams > 1 is not supported; use one or the other");
        if (temperature <= 0) throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (topP <= 0 || topP > 1) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (noRepeatNgramSize < 0) throw new IllegalArgumentException("no_repeat_ngram_size must be >= 0");
    }
}
