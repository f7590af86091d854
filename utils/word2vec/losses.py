"""Losses and their gradients for one batch of windows: pure functions, so a lecture can call
them and a test can compare them with autograd.  σ(x) = 1 / (1 + e^{-x}).
"""

from __future__ import annotations

import torch


def binary_logistic_loss_and_grads(
    center_vecs: torch.Tensor,
    target_vecs: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum of binary logistic losses of T targets per example, and its gradients.

    center_vecs: (B, d)     v_c, the input vector of each example
    target_vecs: (B, T, d)  u_t, the output vectors it is scored against
    labels:      (B, T) or (T,)  y_t in {0, 1}: 1 = "should score high", 0 = "should score low"
    mask:        (B, T) or None  1 for real targets, 0 for padding

    J = Σ_t m_t [ -y_t log σ(u_t·v_c) - (1 - y_t) log σ(-u_t·v_c) ]
    ∂J/∂(u_t·v_c) = m_t (σ(u_t·v_c) - y_t) =: g_t
    ∂J/∂v_c = Σ_t g_t u_t        ∂J/∂u_t = g_t v_c

    Returns loss (B,), grad_center (B, d), grad_targets (B, T, d).
    """
    scores = torch.bmm(target_vecs, center_vecs.unsqueeze(2)).squeeze(2)  # (B, T): u_t·v_c
    labels = labels.to(scores.dtype).expand_as(scores)
    # -log σ(x) = softplus(-x), -log σ(-x) = softplus(x): stable for large |x|.
    losses = labels * torch.nn.functional.softplus(-scores) + (1 - labels) * torch.nn.functional.softplus(scores)
    g = torch.sigmoid(scores) - labels
    if mask is not None:
        mask = mask.to(scores.dtype).expand_as(scores)
        losses = losses * mask
        g = g * mask
    grad_center = torch.bmm(g.unsqueeze(1), target_vecs).squeeze(1)  # Σ_t g_t u_t
    grad_targets = g.unsqueeze(2) * center_vecs.unsqueeze(1)  # g_t v_c
    return losses.sum(1), grad_center, grad_targets


def neg_sampling_loss_and_grads(
    center_vecs: torch.Tensor, outside_vecs: torch.Tensor, negative_vecs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative-sampling loss of a batch of (center, outside) pairs, and its gradients.

    center_vecs:   (B, d)     v_c
    outside_vecs:  (B, d)     u_o, the true outside word
    negative_vecs: (B, K, d)  u_k, K words drawn from the noise distribution

    J = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c)
    ∂J/∂v_c = (σ(u_o·v_c) - 1) u_o + Σ_k σ(u_k·v_c) u_k
    ∂J/∂u_o = (σ(u_o·v_c) - 1) v_c      ∂J/∂u_k = σ(u_k·v_c) v_c

    Returns loss (B,), grad_center (B, d), grad_outside (B, d), grad_negative (B, K, d).
    """
    targets = torch.cat([outside_vecs.unsqueeze(1), negative_vecs], dim=1)  # (B, 1+K, d)
    labels = torch.zeros(targets.shape[1], dtype=targets.dtype, device=targets.device)
    labels[0] = 1
    loss, grad_center, grad_targets = binary_logistic_loss_and_grads(center_vecs, targets, labels)
    return loss, grad_center, grad_targets[:, 0], grad_targets[:, 1:]


def hierarchical_softmax_loss_and_grads(
    center_vecs: torch.Tensor, node_vecs: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hierarchical-softmax loss of a batch of (center, outside) pairs, and its gradients.

    center_vecs: (B, d)     v_c
    node_vecs:   (B, L, d)  u_n for the inner nodes n on the root-to-o path (padded to L)
    codes:       (B, L)     the branch taken at each node: 0 = left, 1 = right (Huffman code of o)
    mask:        (B, L)     1 on the path, 0 on padding

    P(o | c) = Π_n σ(±u_n·v_c), "+" where the code is 0 (word2vec's convention), so
    J = -Σ_n log σ(±u_n·v_c): binary logistic losses with labels 1 - code.
    Returns loss (B,), grad_center (B, d), grad_nodes (B, L, d).
    """
    return binary_logistic_loss_and_grads(center_vecs, node_vecs, 1 - codes.to(node_vecs.dtype), mask)


def naive_softmax_loss_and_grads(
    center_vecs: torch.Tensor, outside_ids: torch.Tensor, outside_matrix: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Naive-softmax loss of a batch of (center, outside) pairs, and its gradients.

    center_vecs:    (B, d)  v_c
    outside_ids:    (B,)    o, the index of the true outside word
    outside_matrix: (V, d)  U, every outside vector (the softmax runs over the whole vocabulary)

    ŷ = softmax(U v_c), J = -log ŷ_o
    ∂J/∂v_c = Uᵀ(ŷ - y)     ∂J/∂U = (ŷ - y) v_cᵀ   (y the one-hot of o; summed over the batch)

    Returns loss (B,), grad_center (B, d), grad_outside_matrix (V, d): dense, O(V d) per
    batch, which is why real vocabularies use negative sampling or hierarchical softmax.
    """
    scores = center_vecs @ outside_matrix.T  # (B, V)
    log_probs = torch.log_softmax(scores, dim=1)
    rows = torch.arange(len(outside_ids), device=scores.device)
    loss = -log_probs[rows, outside_ids]
    delta = log_probs.exp()  # ŷ
    delta[rows, outside_ids] -= 1  # ŷ - y
    return loss, delta @ outside_matrix, delta.T @ center_vecs
