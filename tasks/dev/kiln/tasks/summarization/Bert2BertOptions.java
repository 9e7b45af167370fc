package dev.kiln.tasks.summarization;

import com.google.gson.annotations.SerializedName;

/**
 * The {@code task} section of {@code summarize-bert2bert}: besides the abstractive keys, whether the decoder shares
 * the encoder's BERT weights (Rothe et al.'s bert2bert-share). Only for a warm start; a model folder that is already
 * an encoder-decoder keeps what it is.
 */
public class Bert2BertOptions extends AbstractiveOptions {
    /** bert2bert-share: one set of BERT weights for encoder and decoder (cross-attention and LM head stay the decoder's). */
    public boolean shareEncoderDecoder = false;
    /**
     * How a warm start initialises the new cross-attention: "random" (Rothe et al., HF) or "self_attention" (a copy of
     * each decoder layer's pretrained self-attention, which learns to read the article in far fewer steps).
     */
    public CrossInit crossAttentionInit = CrossInit.RANDOM;

    public enum CrossInit {
        @SerializedName("random") RANDOM,
        @SerializedName("self_attention") SELF_ATTENTION
    }
}
