package dev.kiln.tasks.pretraining;

import dev.kiln.config.Checks;
import dev.kiln.config.Rules;
import dev.kiln.config.Validated;

import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The {@code data} keys of both pretraining tasks (beyond the common ones); see docs/pretraining.md. */
public class PretrainData implements Validated {
    /** How documents are delimited in the raw text. */
    @Rules.Matches(regex = "file|blank_line|line|marker", allowed = {"file", "blank_line", "line", "marker"})
    public String documents = "file";

    /** With documents "marker": a regular expression; every line it matches (find) starts a new document. */
    public String documentMarker;

    /** When data.train / data.dev is a folder: the glob its files must match (on the file name, or the relative path if it has a '/'). */
    public String include;

    /** Keep the tokenised corpus on disk and reuse it in later runs (false: a temporary copy, deleted after the run). */
    public boolean cache = true;

    /** Where tokenised corpora are kept; null: $KILN_HOME/cache/pretrain. */
    @Rules.OutputPath
    public Path cacheDir;

    @Override
    public void validate(Checks c) {
        if (documents.equals("marker") && (documentMarker == null || documentMarker.isEmpty())) {
            c.error("document_marker", "is required when " + c.at("documents") + " is \"marker\" (a regex such as \"^ = [^=]\")");
        }
        if (documentMarker != null) {
            try {
                Pattern.compile(documentMarker);
            } catch (PatternSyntaxException e) {
                c.error("document_marker", "is not a valid regular expression: " + e.getDescription());
            }
        }
    }
}
