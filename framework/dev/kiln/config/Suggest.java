package dev.kiln.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** "Did you mean" suggestions for mistyped keys and names. */
public final class Suggest {
    private Suggest() {}

    /**
     * HF TrainingArguments / run_*.py names users type from habit, mapped to the Kiln path
     * (keys normalised as in {@link #norm}).
     */
    private static final Map<String, String> HF_NAMES = Map.ofEntries(
            Map.entry("learningrate", "optimizer.lr"),
            Map.entry("numtrainepochs", "training.epochs"),
            Map.entry("numepochs", "training.epochs"),
            Map.entry("perdevicetrainbatchsize", "training.batch_size"),
            Map.entry("trainbatchsize", "training.batch_size"),
            Map.entry("lrschedulertype", "schedule.type"),
            Map.entry("scheduler", "schedule"),
            Map.entry("lrscheduler", "schedule"),
            Map.entry("adamepsilon", "optimizer.eps"),
            Map.entry("adambeta1", "optimizer.betas"),
            Map.entry("adambeta2", "optimizer.betas"),
            Map.entry("optim", "optimizer.type"),
            Map.entry("fp16", "precision.mode"),
            Map.entry("mixedprecision", "precision.mode"),
            Map.entry("savesteps", "checkpointing.every_steps"),
            Map.entry("savetotallimit", "checkpointing.keep_last"),
            Map.entry("loadbestmodelatend", "checkpointing.keep_best"),
            Map.entry("metricforbestmodel", "checkpointing.metric"),
            Map.entry("evalsteps", "training.eval_every_steps"),
            Map.entry("loggingsteps", "training.log_every_steps"),
            Map.entry("outputdir", "output.dir"),
            Map.entry("modelnameorpath", "model.name"),
            Map.entry("maxseqlength", "data.max_length"),
            Map.entry("trainfile", "data.train"),
            Map.entry("validationfile", "data.dev"),
            Map.entry("testfile", "data.test"),
            Map.entry("labelsmoothingfactor", "training.label_smoothing"),
            Map.entry("earlystoppingpatience", "training.early_stopping.patience"));

    /**
     * Close matches of {@code typed} among {@code candidates}: same spelling ignoring case and
     * separators, else the smallest edit distance within a length-dependent bound, else names
     * sharing a prefix of 4+ characters (or one a prefix of the other). At most three.
     */
    public static List<String> similar(String typed, Collection<String> candidates) {
        List<String> out = close(typed, candidates);
        return out.isEmpty() ? prefixed(typed, candidates) : out;
    }

    /**
     * Suggestions for an unknown key {@code typed} in the section at {@code sectionPath}, as full
     * paths. In order of confidence: a key of that section spelled the same but for case and
     * separators; the same key in another section (a misplaced key); the Kiln name of an HF
     * argument; a near spelling in that section, then elsewhere; a key sharing a prefix.
     */
    static List<String> forKey(String typed, String sectionPath, Collection<String> localKeys, Collection<String> allPaths) {
        String nt = norm(typed);
        List<String> out = new ArrayList<>();
        for (String k : localKeys) if (norm(k).equals(nt)) out.add(join(sectionPath, k));
        if (!out.isEmpty()) return cap(out);
        String self = join(sectionPath, typed);
        for (String p : allPaths) if (norm(last(p)).equals(nt) && !p.equals(self)) out.add(p);
        if (!out.isEmpty()) return cap(out);
        String hf = HF_NAMES.get(nt);
        if (hf != null && allPaths.contains(hf)) return List.of(hf);
        for (String s : similar(typed, localKeys)) out.add(join(sectionPath, s));
        if (!out.isEmpty()) return out;
        List<String> lasts = new ArrayList<>();
        for (String p : allPaths) if (!lasts.contains(last(p))) lasts.add(last(p));
        List<String> elsewhere = close(typed, lasts);
        for (String s : elsewhere.isEmpty() ? prefixed(typed, lasts) : elsewhere) {
            for (String p : allPaths) if (last(p).equals(s) && !out.contains(p)) out.add(p);
        }
        return cap(out);
    }

    /**
     * The config key a command-line flag names ({@code epochs}, {@code learning-rate}, {@code num_train_epochs},
     * {@code per_device_train_batch_size}), as full paths: the key spelled the same but for case and separators
     * in any section, else the Kiln name of an HF argument; empty when neither.
     */
    public static List<String> configKey(String flag, Collection<String> allPaths) {
        String nt = norm(flag);
        List<String> out = new ArrayList<>();
        if (nt.isEmpty()) return out;
        for (String p : allPaths) if (norm(p).equals(nt) || norm(last(p)).equals(nt)) out.add(p);
        if (out.isEmpty() && HF_NAMES.containsKey(nt) && allPaths.contains(HF_NAMES.get(nt))) out.add(HF_NAMES.get(nt));
        return cap(out);
    }

    private static String last(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }

    /** Same spelling ignoring case and separators, else the nearest within a length-dependent edit distance. */
    private static List<String> close(String typed, Collection<String> candidates) {
        String nt = norm(typed);
        List<String> out = new ArrayList<>();
        for (String c : candidates) if (!nt.isEmpty() && norm(c).equals(nt)) out.add(c);
        if (!out.isEmpty()) return cap(out);
        String lt = typed.toLowerCase(Locale.ROOT);
        int bound = lt.length() <= 4 ? 1 : lt.length() <= 8 ? 2 : 3;
        int best = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = levenshtein(lt, c.toLowerCase(Locale.ROOT));
            if (d > bound || d >= c.length()) continue; // "ab" is not a typo of "lr"
            if (d < best) {
                best = d;
                out.clear();
            }
            if (d == best) out.add(c);
        }
        return cap(out);
    }

    /** Names sharing a prefix of 4+ characters with {@code typed}, or one a prefix of the other. */
    private static List<String> prefixed(String typed, Collection<String> candidates) {
        String lt = typed.toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        for (String c : candidates) {
            String lc = c.toLowerCase(Locale.ROOT);
            boolean prefix = Math.min(lt.length(), lc.length()) >= 3 && (lc.startsWith(lt) || lt.startsWith(lc));
            if (prefix || commonPrefix(lt, lc) >= 4) out.add(c);
        }
        return cap(out);
    }

    /** {@code  (did you mean "a" or "b"?)}, or "" when there is nothing to suggest. */
    public static String didYouMean(List<String> suggestions) {
        if (suggestions.isEmpty()) return "";
        return " (did you mean " + quotedList(suggestions, " or ") + "?)";
    }

    /** {@code "a", "b" or "c"} with the given last separator. */
    public static String quotedList(List<String> items, String lastSep) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) b.append(i == items.size() - 1 ? lastSep : ", ");
            b.append('"').append(items.get(i)).append('"');
        }
        return b.toString();
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }

    /** Lower case without separators, so batchSize, batch-size and batch_size compare equal. */
    static String norm(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) if (Character.isLetterOrDigit(c)) b.append(Character.toLowerCase(c));
        return b.toString();
    }

    private static String join(String section, String key) {
        return section.isEmpty() ? key : section + "." + key;
    }

    private static List<String> cap(List<String> l) {
        return l.size() > 3 ? new ArrayList<>(l.subList(0, 3)) : l;
    }
}
