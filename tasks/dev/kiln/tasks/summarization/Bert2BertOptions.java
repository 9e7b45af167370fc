package dev.kiln.tasks.summarization;

/**
 * The {@code task} section of {@code summarize-bert2bert}: besides the abstractive keys, whether the decoder shares
 * the encoder's BERT weights (Rothe et al.'s bert2bert-share). Only for a warm start; a model folder that is already
 * an encoder-decoder keeps what it is.
 */
public class Bert2BertOptions extends AbstractiveOptions {
    /** bert2bert-share: one set of BERT weights for encoder and decoder (cross-attention and LM head stay the decoder's). */
    public boolean shareEncoderDecoder = false;
}
