package dev.kiln.tasks.qa;

import ai.djl.ndarray.NDManager;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskPredictor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Predictor for a fine-tuned extractive QA model:
 * {@code QuestionAnswerer.load(dir).answer("Who ...?", context)}. {@code dir} is a run directory (its
 * best/ or final/ model is used) or a model folder. Contexts of any length are windowed as in training.
 */
public final class QuestionAnswerer extends TaskPredictor {

    /**
     * An answer: its text, the [start, end) characters in the context ({@code context.substring(start, end)}
     * is {@code text}) and a score in [0, 1], p(start)·p(end) within the window it came from.
     */
    public record Answer(String text, int start, int end, float score) {}

    private final NDManager manager;
    private final Tokenizer tok;
    private final QaHead head;
    private final QaTask.Settings settings;

    private QuestionAnswerer(TaskFolder.Opened folder) throws IOException {
        super(folder);
        manager = folder.manager;
        settings = QaTask.Settings.fromJson(folder.meta);
        head = new QaHead(folder.backbone);
        folder.loadHead(head.prefix());
        tok = folder.tokenizer;
    }

    public static QuestionAnswerer load(Path dir) throws IOException {
        return load(dir, "auto");
    }

    public static QuestionAnswerer load(Path dir, String device) throws IOException {
        return open(dir, QaTask.TYPE, device, QuestionAnswerer::new);
    }

    public Answer answer(String question, String context) {
        return answerAll(List.of(question), List.of(context)).get(0);
    }

    /** Answers questions.get(i) from contexts.get(i), in order, sharing forward passes between them. */
    public List<Answer> answerAll(List<String> questions, List<String> contexts) {
        if (questions.size() != contexts.size()) {
            throw new IllegalArgumentException(questions.size() + " questions but " + contexts.size() + " contexts");
        }
        List<Answer> out = new ArrayList<>(questions.size());
        Iterator<Integer> idx = java.util.stream.IntStream.range(0, questions.size()).iterator();
        stream(idx, i -> new QaRunner.Query(questions.get(i), contexts.get(i), -1, -1), (i, a) -> out.add(a));
        return out;
    }

    /** Streams answers as they are ready (in input order), holding only the questions in flight. */
    <T> void stream(Iterator<T> items, java.util.function.Function<T, QaRunner.Query> query, BiConsumer<T, Answer> sink) {
        QaRunner r = QaTask.runner(head, tok, settings);
        r.run(items, query, sink::accept, manager);
    }
}
