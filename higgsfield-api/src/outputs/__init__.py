"""Copies of a completed task's outputs (the video and its thumbnail) in the gateway's blob store:
downloaded by a background job, served to the owning client, removed after the retention."""
