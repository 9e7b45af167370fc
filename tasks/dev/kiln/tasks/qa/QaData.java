package dev.kiln.tasks.qa;

import dev.kiln.config.Rules;

/**
 * The QA task's own {@code data} keys. With no {@code data.dev}, {@code data.dev_fraction} holds out whole
 * articles of the training file (deterministic in the seed). The limits pick a seeded sample of questions,
 * for short runs; null uses them all.
 */
public class QaData {
    /** Train on at most this many questions of the training articles. */
    @Rules.Range(min = 1)
    public Integer maxTrainQuestions;

    /** Evaluate during training on at most this many questions of the dev articles. */
    @Rules.Range(min = 1)
    public Integer maxDevQuestions;
}
