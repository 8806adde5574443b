"""Uploading invoice files for an employee."""

from fastapi import APIRouter, UploadFile

from api import services
from api.deps import SessionDep, SettingsDep
from api.errors import InvalidRequest
from api.tables import InvoicePublic, UploadedFilePublic

router = APIRouter(tags=["uploads"])


def uploaded_public(result: services.UploadedFile) -> UploadedFilePublic:
    return UploadedFilePublic(
        file_id=result.file.id if result.file else None, name=result.name, sha256=result.sha256, size=result.size,
        media_type=result.media_type, error=result.error,
        invoices=[InvoicePublic.model_validate(r) for r in result.invoices])


@router.post("/employees/{emp_no}/uploads", status_code=201, response_model=list[UploadedFilePublic])
def upload_invoices(emp_no: str, files: list[UploadFile], session: SessionDep, settings: SettingsDep):
    """Store the files and extract their invoices. A file that holds no readable invoice comes back with `error`."""
    if len(files) > settings.max_upload_files:
        raise InvalidRequest(f"at most {settings.max_upload_files} files per upload")
    contents = [(f.filename or "upload", f.file.read()) for f in files]
    results = services.upload_files(session, emp_no, contents, storage_dir=settings.storage_dir,
                                    max_file_bytes=settings.max_upload_bytes)
    return [uploaded_public(r) for r in results]
