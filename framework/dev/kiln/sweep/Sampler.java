package dev.kiln.sweep;

import com.google.gson.JsonElement;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Chooses the parameters of trial {@code number}. Every sampler is a pure function of the sweep's seed, the trial
 * number, the finished trials it is shown and the pending ones (started, result not used), so a resumed sweep
 * re-derives the same sequence from results.jsonl: there is no hidden random state to save. Which trials count as
 * finished and pending is fixed by the trial number and {@code max_parallel}, not by timing (see {@link Sweep}).
 */
public interface Sampler {
    Map<String, JsonElement> suggest(int number, List<Trial> finished, List<Trial> pending);

    default Map<String, JsonElement> suggest(int number, List<Trial> finished) {
        return suggest(number, finished, List.of());
    }

    static Sampler of(SweepSpec spec) {
        return switch (spec.method) {
            case GRID -> {
                List<Map<String, JsonElement>> points = spec.gridPoints();
                yield (number, finished, pending) -> points.get(number);
            }
            case RANDOM -> (number, finished, pending) -> random(spec, number);
            case TPE -> new TpeSampler(spec);
        };
    }

    /** Independent uniform draws (log-uniform for log-scaled ranges), one stream per (seed, trial, parameter). */
    static Map<String, JsonElement> random(SweepSpec spec, int number) {
        Map<String, JsonElement> out = new LinkedHashMap<>();
        for (int i = 0; i < spec.params.size(); i++) out.put(spec.params.get(i).key(), spec.params.get(i).sample(rng(spec.seed, number, i, 0)));
        return out;
    }

    /** The random stream for (seed, trial, parameter, purpose); SplittableRandom mixes its seed, so neighbours are independent. */
    static SplittableRandom rng(long seed, int number, int param, int purpose) {
        long h = seed * 0x9E3779B97F4A7C15L + number;
        h = h * 0xBF58476D1CE4E5B9L + param;
        h = h * 0x94D049BB133111EBL + purpose;
        return new SplittableRandom(h);
    }
}
