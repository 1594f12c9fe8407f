from pydantic import BaseModel


class MotionOut(BaseModel):
    name: str
    id: str
    description: str | None
