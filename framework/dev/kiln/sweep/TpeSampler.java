package dev.kiln.sweep;

import com.google.gson.JsonElement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011) with Optuna's default, independent (per-parameter)
 * settings: random search for the first {@code startup_trials} (10) trials; then the finished trials are split into
 * the best {@code min(ceil(0.1 n), 25)} ("below") and the rest; each side becomes a Parzen mixture — one truncated
 * Gaussian per observation plus a prior (centred, as wide as the range, weight 1) — with bandwidths from the gaps
 * to neighbouring observations, clipped to [range / min(100, n + 2), range]; observation weights are 1 for up
 * to 25 trials, older ones ramped down beyond; {@code ei_candidates} (24) values drawn from the "below" mixture are
 * scored by log l(x) − log g(x), and the best is taken. Choices use a categorical mixture (each observation's
 * choice gets one extra count over a prior spread evenly). Log-scaled ranges are modelled in log space; integers
 * as a continuous range widened by half a step each side, rounded after sampling. Pruned trials rank after all
 * complete ones, deeper first; failed trials are left out.
 *
 * <p>Pending trials (running in parallel, see {@link Sweep}) are Optuna's "constant liar": each joins the "above"
 * side as if it had the worst value, so parallel proposals keep away from points already being tried; they do not
 * count towards the start-up trials or the size of the "below" side.
 */
final class TpeSampler implements Sampler {
    private static final double PRIOR_WEIGHT = 1.0;
    private final SweepSpec spec;

    TpeSampler(SweepSpec spec) {
        this.spec = spec;
    }

    @Override
    public Map<String, JsonElement> suggest(int number, List<Trial> finished, List<Trial> pending) {
        List<Trial> usable = new ArrayList<>();
        for (Trial t : finished) {
            if (t.state == Trial.State.COMPLETE && t.metric != null || t.state == Trial.State.PRUNED && !t.curve.isEmpty()) usable.add(t);
        }
        if (usable.size() < spec.startupTrials) return Sampler.random(spec, number);
        List<Trial> ranked = new ArrayList<>(usable);
        ranked.sort(rank(spec.maximize));
        int nBelow = Math.min((int) Math.ceil(0.1 * ranked.size()), 25);
        List<Trial> below = new ArrayList<>(ranked.subList(0, nBelow));
        List<Trial> above = new ArrayList<>(ranked.subList(nBelow, ranked.size()));
        above.addAll(pending);
        // weights follow trial age, so each side is kept in trial order
        below.sort(Comparator.comparingInt(t -> t.number));
        above.sort(Comparator.comparingInt(t -> t.number));
        Map<String, JsonElement> out = new LinkedHashMap<>();
        for (int i = 0; i < spec.params.size(); i++) {
            Param p = spec.params.get(i);
            out.put(p.key(), suggestOne(p, below, above, Sampler.rng(spec.seed, number, i, 1), spec.eiCandidates));
        }
        return out;
    }

    /** Best first: complete trials by metric, then pruned ones by how far they got, then by their last value. */
    static Comparator<Trial> rank(boolean maximize) {
        Comparator<Double> better = maximize ? Comparator.reverseOrder() : Comparator.naturalOrder();
        return (a, b) -> {
            boolean ca = a.state == Trial.State.COMPLETE, cb = b.state == Trial.State.COMPLETE;
            if (ca != cb) return ca ? -1 : 1;
            if (ca) return better.compare(a.metric, b.metric);
            Trial.Point la = a.curve.get(a.curve.size() - 1), lb = b.curve.get(b.curve.size() - 1);
            if (la.step() != lb.step()) return Long.compare(lb.step(), la.step());
            return better.compare(la.value(), lb.value());
        };
    }

    static JsonElement suggestOne(Param p, List<Trial> below, List<Trial> above, SplittableRandom r, int candidates) {
        Mixture l = Mixture.of(p, values(p, below));
        Mixture g = Mixture.of(p, values(p, above));
        JsonElement best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < candidates; i++) {
            JsonElement v = p.value(l.sample(r));
            double u = p.internal(v);
            double score = l.logPdf(u) - g.logPdf(u);
            if (best == null || score > bestScore) {
                best = v;
                bestScore = score;
            }
        }
        return best;
    }

    private static double[] values(Param p, List<Trial> ts) {
        double[] x = new double[ts.size()];
        for (int i = 0; i < x.length; i++) x[i] = p.internal(ts.get(i).params.get(p.key()));
        return x;
    }

    /** Optuna's default weights: flat for up to 25 observations, beyond that the oldest n - 25 ramp from 1/n up to 1. */
    static double[] weights(int n) {
        double[] w = new double[n];
        if (n < 25) {
            java.util.Arrays.fill(w, 1);
            return w;
        }
        int ramp = n - 25;
        for (int i = 0; i < ramp; i++) w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + (1 - 1.0 / n) * i / (ramp - 1);
        for (int i = ramp; i < n; i++) w[i] = 1;
        return w;
    }

    /** A Parzen mixture over one parameter's internal space. */
    abstract static class Mixture {
        final double[] w; // normalised component weights, prior last

        Mixture(double[] w) {
            this.w = w;
        }

        abstract double sample(SplittableRandom r);

        abstract double logPdf(double u);

        int component(SplittableRandom r) {
            double x = r.nextDouble(), acc = 0;
            for (int k = 0; k < w.length; k++) {
                acc += w[k];
                if (x < acc) return k;
            }
            return w.length - 1;
        }

        static Mixture of(Param p, double[] obs) {
            double[] ow = weights(obs.length);
            double[] w = new double[obs.length + 1];
            double sum = PRIOR_WEIGHT;
            for (int i = 0; i < obs.length; i++) sum += ow[i];
            for (int i = 0; i < obs.length; i++) w[i] = ow[i] / sum;
            w[obs.length] = PRIOR_WEIGHT / sum;
            return p.categorical() ? new Categorical(w, obs, p.values().size()) : new Gaussians(w, obs, p.lowInternal(), p.highInternal());
        }
    }

    static final class Gaussians extends Mixture {
        final double lo, hi;
        final double[] mu, sigma, logZ;

        Gaussians(double[] w, double[] obs, double lo, double hi) {
            super(w);
            this.lo = lo;
            this.hi = hi;
            int n = obs.length;
            mu = new double[n + 1];
            sigma = new double[n + 1];
            System.arraycopy(obs, 0, mu, 0, n);
            mu[n] = 0.5 * (lo + hi);
            // bandwidth: the larger gap to a neighbour among the observations and the prior's centre, range ends as walls
            Integer[] order = new Integer[n + 1];
            for (int i = 0; i <= n; i++) order[i] = i;
            java.util.Arrays.sort(order, Comparator.comparingDouble(i -> mu[i]));
            double[] s = new double[n + 3];
            s[0] = lo;
            for (int i = 0; i <= n; i++) s[i + 1] = mu[order[i]];
            s[n + 2] = hi;
            double[] sg = new double[n + 1];
            for (int i = 0; i <= n; i++) sg[i] = Math.max(s[i + 1] - s[i], s[i + 2] - s[i + 1]);
            if (n + 3 >= 4) { // the outermost points ignore the walls (consider_endpoints=false)
                sg[0] = s[2] - s[1];
                sg[n] = s[n + 1] - s[n];
            }
            double range = hi - lo;
            double minSigma = range / Math.min(100.0, n + 2.0), maxSigma = range;
            for (int i = 0; i <= n; i++) sigma[order[i]] = Math.max(minSigma, Math.min(maxSigma, sg[i]));
            sigma[n] = range; // the prior
            logZ = new double[n + 1];
            for (int k = 0; k <= n; k++) logZ[k] = Math.log(Math.max(1e-300, phi((hi - mu[k]) / sigma[k]) - phi((lo - mu[k]) / sigma[k])));
        }

        @Override
        double sample(SplittableRandom r) {
            int k = component(r);
            for (int tries = 0; tries < 10_000; tries++) {
                double x = mu[k] + sigma[k] * gaussian(r);
                if (x >= lo && x <= hi) return x;
            }
            return Math.max(lo, Math.min(hi, mu[k]));
        }

        @Override
        double logPdf(double u) {
            double m = Double.NEGATIVE_INFINITY;
            double[] t = new double[mu.length];
            for (int k = 0; k < mu.length; k++) {
                double z = (u - mu[k]) / sigma[k];
                t[k] = Math.log(w[k]) - 0.5 * z * z - Math.log(sigma[k]) - 0.5 * Math.log(2 * Math.PI) - logZ[k];
                m = Math.max(m, t[k]);
            }
            double sum = 0;
            for (double x : t) sum += Math.exp(x - m);
            return m + Math.log(sum);
        }
    }

    static final class Categorical extends Mixture {
        final double[][] rows; // per component, a distribution over the choices

        Categorical(double[] w, double[] obs, int choices) {
            super(w);
            int n = obs.length;
            rows = new double[n + 1][choices];
            for (int k = 0; k <= n; k++) {
                java.util.Arrays.fill(rows[k], PRIOR_WEIGHT / (n + 1));
                if (k < n) rows[k][(int) obs[k]] += 1;
                double s = 0;
                for (double x : rows[k]) s += x;
                for (int c = 0; c < choices; c++) rows[k][c] /= s;
            }
        }

        @Override
        double sample(SplittableRandom r) {
            double[] row = rows[component(r)];
            double x = r.nextDouble(), acc = 0;
            for (int c = 0; c < row.length; c++) {
                acc += row[c];
                if (x < acc) return c;
            }
            return row.length - 1;
        }

        @Override
        double logPdf(double u) {
            int c = (int) u;
            double p = 0;
            for (int k = 0; k < rows.length; k++) p += w[k] * rows[k][c];
            return Math.log(p);
        }
    }

    /** Standard normal draw (Box-Muller, one of the pair). */
    static double gaussian(SplittableRandom r) {
        double a = 1 - r.nextDouble(); // (0, 1]
        return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    /** Standard normal CDF, from a Chebyshev fit of erfc with relative error below 1.2e-7 (Numerical Recipes' erfcc). */
    static double phi(double x) {
        double z = Math.abs(x / Math.sqrt(2));
        double t = 1 / (1 + 0.5 * z);
        double erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
    }
}
